"""The NLU training data, the Rasa project and the held-out file agree and stay apart."""
import re

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
