"""The NLU training data, the Rasa project and the held-out file agree and stay apart."""
import re
from collections import Counter

import pytest
import yaml

from bot.nlu import data, defaults
from bot.nlu.text import fold
from bot.parse import normalise

BENGALI = re.compile(r"[\u0980-\u09ff]")
LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def test_every_intent_has_25_examples_in_bangla_and_latin_script():
    examples = data.load(defaults.DATA)
    for intent in defaults.INTENTS:
        texts = [e.text for e in examples if e.intent == intent]
        assert len(texts) >= 25, intent
        assert sum(bool(BENGALI.search(t)) for t in texts) >= 5, intent
        assert sum(bool(LATIN.search(t)) for t in texts) >= 10, intent  # romanised and English
    assert {e.intent for e in examples} == set(defaults.INTENTS)


def test_rasa_domain_names_the_same_intents_and_entities():
    domain = yaml.safe_load(defaults.DOMAIN.read_text(encoding="utf-8"))
    assert tuple(domain["intents"]) == defaults.INTENTS
    assert set(domain["entities"]) == {"number", "module"}
    found = {name for e in data.load(defaults.DATA) for name, _ in e.entities}
    assert found == {"number", "module"}
    config = yaml.safe_load(defaults.CONFIG.read_text(encoding="utf-8"))
    assert "DIETClassifier" in [c["name"] for c in config["pipeline"]]


def test_module_entities_are_in_both_digit_scripts():
    values = [v for e in data.load(defaults.DATA) for name, v in e.entities if name == "module"]
    assert any(v.isascii() for v in values) and any(not v.isascii() for v in values)


def test_annotations_are_removed_from_the_text():
    assert data.parse_example("module [3](module) er video") == ("module 3 er video",
                                                                 (("module", "3"),))


def test_no_heldout_text_is_a_training_text():
    """Held-out lines were written apart from the training file; none may be a copy of a
    training line, even after folding away case, punctuation and spelling variants."""
    training = data.load(defaults.DATA)
    heldout = data.load(defaults.HELDOUT)
    assert len(heldout) >= 10 * len(defaults.INTENTS)
    for norm in (fold, normalise):
        seen = {norm(e.text) for e in training}
        copies = [e.text for e in heldout if norm(e.text) in seen]
        assert copies == [], norm.__name__


def test_heldout_covers_every_intent():
    assert {e.intent for e in data.load(defaults.HELDOUT)} == set(defaults.INTENTS)


def test_no_blind_line_is_a_training_line():
    """The blind sets (tests/PROVENANCE.md) were written by someone who never saw the training
    files; a line copied from them into training would make their scores a lie. The only
    overlaps are the short replies the training file already held when the blind set was
    written (blind_overlap.yml)."""
    known = set(yaml.safe_load(defaults.BLIND_OVERLAP.read_text(encoding="utf-8"))["overlap"])
    for blind, train in ((defaults.BLIND, defaults.DATA),
                         (defaults.OBSTACLES_BLIND, defaults.OBSTACLE_DATA)):
        lines, training = data.load(blind), data.load(train)
        for norm in (fold, normalise):
            seen = {norm(e.text) for e in training}
            copies = [e.text for e in lines if norm(e.text) in seen and e.text not in known]
            assert copies == [], (blind.name, norm.__name__)
    assert len(known) < len(data.load(defaults.BLIND)) // 3


def test_the_blind_sets_cover_every_class_with_20_messages_or_more():
    for path, classes in ((defaults.BLIND, defaults.INTENTS),
                          (defaults.OBSTACLES_BLIND, defaults.OBSTACLES)):
        counts = Counter(e.intent for e in data.load(path))
        assert set(counts) == set(classes), path.name
        assert min(counts.values()) >= 20, path.name
    assert (defaults.BLIND.parent / "PROVENANCE.md").exists()


@pytest.mark.parametrize("path", [defaults.DATA, defaults.OBSTACLE_DATA], ids=lambda p: p.name)
def test_no_training_line_is_there_twice_or_under_two_labels(path):
    """Spelling variants of one reply are kept on purpose ("hae", "hay"), but the same line
    twice is one example counted twice, and one folded line under two labels teaches nothing."""
    examples = data.load(path)
    twice = Counter(normalise(e.text) for e in examples)
    assert [text for text, n in twice.items() if n > 1] == []
    labels: dict[str, set] = {}
    for e in examples:
        labels.setdefault(fold(e.text), set()).add(e.intent)
    assert {text: found for text, found in labels.items() if len(found) > 1} == {}


def test_every_obstacle_code_has_40_examples_in_bangla_and_latin_script():
    examples = data.load(defaults.OBSTACLE_DATA)
    assert {e.intent for e in examples} == {*defaults.OBSTACLES, defaults.NOT_AN_OBSTACLE}
    for code in (*defaults.OBSTACLES, defaults.NOT_AN_OBSTACLE):
        texts = [e.text for e in examples if e.intent == code]
        assert len(texts) >= 40, code
        assert sum(bool(BENGALI.search(t)) for t in texts) >= 15, code
        assert sum(bool(LATIN.search(t)) for t in texts) >= 15, code
