"""The embedded classifier: spelling variants in and across scripts, the teachers' own
examples, thresholds. (Its speed is measured by bench/nlu.py, never asserted here.)"""
import numpy as np
import pytest

from bot.nlu import data, defaults, embedded
from bot.nlu.client import Client, accept, entities
from bot.nlu.embedded import CHANNELS, Classifier
from bot.nlu.text import fold, romanise, sound


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
    ("হযেছে", "হয়েছে"),                      # য় typed without its dot
    ("সময", "সময়"),
    ("যোগ", "জোগ"),                          # য starting a word is জ
    ("phone koren", "fone koren"),          # ph / f
    ("kory", "kori"),                       # a final y for i
    ("nah", "na"),                          # a final h after a vowel
    ("shomoy", "somoy"),                    # sh / s
])
def test_spelling_variants_fold_together(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize("bangla,latin", [
    ("করিনি", "korini"), ("ধন্যবাদ", "dhonnobad"), ("আমাকে কল দিন", "amake kol din"),
    ("পরে জানাব", "pore janabo"), ("হয়েছে", "hoyeche"), ("যোগ দিতে চাই", "jog dite chai"),
])
def test_a_word_sounds_the_same_in_either_script(bangla, latin):
    assert sound(bangla) == sound(latin)


def test_romanised_bangla_script_is_plain_latin():
    assert romanise("করিনি") == romanise("korini") == "korini"
    assert romanise("Thank You!") == "tank you"


def test_a_word_seen_only_in_bangla_script_is_understood_in_romanised_bangla():
    """What the sound of a word adds: trained on Bangla script alone, the classifier still
    knows the romanised spelling; with the folded letters alone it does not."""
    train = [data.Example(t, i) for t, i in [
        ("ধন্যবাদ", "thanks"), ("অনেক ধন্যবাদ", "thanks"), ("শুকরিয়া", "thanks"),
        ("পরে করব", "snooze"), ("কাল জানাব", "snooze"), ("এখন না", "snooze"),
        ("আমাকে ফোন দিন", "call_me"), ("কল করুন", "call_me"), ("ফোনে কথা বলতে চাই", "call_me")]]
    asked = {"dhonnobad": "thanks", "pore korbo": "snooze", "phone din": "call_me"}
    both_scripts = Classifier(train)
    assert {t: both_scripts.guess(t).intent for t in asked} == asked
    one_script = Classifier(train, reader=fold)  # spelling folded within each script only
    assert {t: one_script.guess(t).intent for t in asked} != asked


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
    high = defaults.MIN_CONFIDENCE_BY_INTENT["opt_out"]
    for backend in ("rasa", "embedded"):
        assert accept("opt_out", high - 0.01, backend) is None
        assert accept("not_an_intent", 0.99, backend) is None
    assert accept("thanks", high - 0.01) == "thanks"
    assert accept("thanks", defaults.MIN_CONFIDENCE - 0.01) is None


def test_fast_path_equals_scikit_learns_predict_proba():
    c = embedded.load()
    texts = [e.text for e in data.load(defaults.HELDOUT)[::7]] + ["korinai", "", "???"]
    for text in texts:
        x = c.features([text])
        assert np.allclose(c.model.predict_proba(x)[0], c.scores(text), atol=1e-9), text


def test_every_channel_adds_features():
    c = embedded.load()
    assert [ch.name for ch in c.channels] == [ch.name for ch in CHANNELS]
    assert all(len(v.vocabulary_) > 100 for v in c.vectorizers)


def test_entities_in_both_digit_scripts():
    assert entities("module 3 er video chole na") == {"module": 3, "number": 3}
    assert entities("মডিউল ৫ এর কাজ")["module"] == 5
    assert entities("২ নম্বর মডিউলের ভিডিও")["module"] == 2
    assert entities("৩ দিন পরে") == {"number": 3}
    assert entities("pore") == {}


