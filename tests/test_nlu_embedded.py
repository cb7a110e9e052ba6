"""The embedded classifier: spelling variants, the teachers' own examples, thresholds. Its
training time and latency are figures in bench/nlu.py, not tests."""

import numpy as np
import pytest

from bot.nlu import data, defaults, embedded
from bot.nlu.client import Client, accept, entities
from bot.nlu.text import fold


@pytest.mark.parametrize("a,b", [
    ("হ্যাঁ করেছি", "হাঁ করেছি"),            # chandrabindu, ya-phala
    ("কী করব", "কি করব"),                   # long and short i
    ("জী", "জি"),
    ("পা\u09dcছি না", "পারছি না"),          # ড় (one code point) and র
    ("পা\u09dcছি না", "পা\u09a1\u09bcছি না"),  # ড় as one code point and as ড + nukta
    ("হ\u09dfেছে", "হ\u09af\u09bcেছে"),      # য় as one code point and as য + nukta
    ("করুন্", "করুন"),                        # a stray final hasanta
    ("hae korchi", "hay korchi"),
    ("haaa", "ha"),
    ("dhonnobad", "donobad"),
    ("valo", "bhalo"),
    ("মডিউল ৩", "মডিউল 3"),
])
def test_spelling_variants_fold_together(a, b):
    assert fold(a) == fold(b)


def test_ya_and_ja_stay_apart():
    assert fold("\u09df") == fold("\u09af\u09bc") != fold("\u09af")


@pytest.mark.parametrize("text,intent", [
    ("hae korchi", "affirm"), ("ji", "affirm"), ("হ্যাঁ করেছি", "affirm"), ("pore", "snooze"),
    ("ar sms diben na", "opt_out"), ("module 3 er video chole na", "question"),
])
def test_the_examples_in_the_issue(text, intent):
    assert Client.parse_embedded(text).intent == intent


def test_gibberish_gets_no_intent():
    for text in ("xqzv bnmw", "৭৭৭৭ ককক", "?"):
        heard = Client.parse_embedded(text)
        assert heard.intent is None and heard.guess is not None, text


def test_opt_out_needs_a_high_confidence():
    assert accept("opt_out", defaults.MIN_CONFIDENCE_BY_INTENT["opt_out"] - 0.01) is None
    assert accept("thanks", defaults.MIN_CONFIDENCE_BY_INTENT["opt_out"] - 0.01) == "thanks"
    assert accept("thanks", defaults.MIN_CONFIDENCE - 0.01) is None
    assert accept("not_an_intent", 0.99) is None


def test_fast_path_equals_scikit_learns_predict_proba():
    c = embedded.load()
    for e in data.load(defaults.HELDOUT)[::7]:
        x = c.features.transform([fold(e.text)])
        assert np.allclose(c.model.predict_proba(x)[0], c.scores(e.text), atol=1e-9), e.text


def test_entities_in_both_digit_scripts():
    assert entities("module 3 er video chole na") == {"module": 3, "number": 3}
    assert entities("মডিউল ৫ এর কাজ")["module"] == 5
    assert entities("২ নম্বর মডিউলের ভিডিও")["module"] == 2
    assert entities("৩ দিন পরে") == {"number": 3}
    assert entities("pore") == {}


