"""Each class's confidence bar comes from cross-validation on its training file, not by hand."""
import pytest

from bot.nlu import defaults, thresholds
from bot.nlu.embedded import Guess


def g(intent, confidence):
    return Guess(intent, confidence, ((intent, confidence),))


def test_the_bar_is_the_best_f1_and_the_middle_of_a_tie():
    # thanks: two right guesses at 0.9 and 0.5, a wrong one at 0.45: a bar in 0.50 (only)
    # keeps both right guesses and drops the wrong one
    truth = ["thanks", "thanks", "greet", "greet"]
    guesses = [g("thanks", 0.9), g("thanks", 0.5), g("thanks", 0.45), g("greet", 0.99)]
    bars = thresholds.best_bars(truth, guesses)
    assert bars["thanks"] == 0.5
    # greet: one right guess at 0.99, every bar from 0.35 to 0.95 scores the same: the middle
    assert bars["greet"] == defaults.THRESHOLD_GRID[len(defaults.THRESHOLD_GRID) // 2]


def test_no_bar_is_below_the_floor_and_opt_out_keeps_its_own():
    truth = ["opt_out", "opt_out", "thanks"]
    guesses = [g("opt_out", 0.4), g("opt_out", 0.41), g("thanks", 0.36)]
    bars = thresholds.best_bars(truth, guesses)
    assert bars["opt_out"] >= defaults.MIN_CONFIDENCE_BY_INTENT["opt_out"]
    assert bars["thanks"] >= defaults.MIN_CONFIDENCE


def test_the_bars_file_was_tuned_on_the_training_files_as_they_are():
    """A training file changed without `sathi nlu tune`: its bars are stale."""
    found = thresholds.load()
    for name, path in thresholds.models().items():
        assert found[name]["data"] == thresholds.digest(path), f"run `sathi nlu tune` ({name})"
    assert set(found["intents"]["bars"]) == set(defaults.INTENTS)
    assert found["intents"]["bars"]["opt_out"] >= defaults.MIN_CONFIDENCE_BY_INTENT["opt_out"]


@pytest.mark.parametrize("name", ["intents", "obstacles"])
def test_tuning_again_gives_the_bars_in_the_file(name):
    """The bars are what cross-validation gives (within a grid step, for floating point
    differences between machines), not numbers put in by hand."""
    tuned = thresholds.tune(thresholds.models()[name])
    written = thresholds.load()[name]
    assert abs(tuned["min_known"] - written["min_known"]) <= 0.05 + 1e-9
    assert tuned["bars"].keys() == written["bars"].keys()
    assert all(abs(tuned["bars"][k] - written["bars"][k]) <= 0.05 + 1e-9
               for k in tuned["bars"]), (tuned, written)


def test_a_message_the_training_data_knows_nothing_of_is_not_acted_on():
    from bot.nlu.client import accept

    floor = thresholds.min_known("intents")
    assert 0 < floor < 1
    assert accept("thanks", 0.99, "embedded", known=floor - 0.01) is None
    assert accept("thanks", 0.99, "embedded", known=floor) == "thanks"
    assert accept("thanks", 0.99, "rasa", known=0.0) == "thanks"  # Rasa judges for itself
