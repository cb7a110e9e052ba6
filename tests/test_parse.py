"""Numbers in either digit script, keywords in Bangla, romanised Bangla and English."""
import pytest

from bot.config import ROOT
from bot.parse import Keywords, normalise, number

KW = Keywords.load(ROOT / "flows" / "keywords.yaml")


@pytest.mark.parametrize("text,expected", [("1", 1), ("১", 1), (" ২ ", 2), ("2.", 2), ("১)", 1),
                                           ("১২", 12), ("no. 3", 3), ("নং ৪", 4),
                                           ("1 2", None), ("two", None), ("", None), ("১a", None)])
def test_number(text, expected):
    assert number(text) == expected


@pytest.mark.parametrize("text,kind", [
    ("STOP", "stop"), ("বন্ধ", "stop"), ("বন্ধ করুন", "stop"), ("Bondho", "stop"),
    ("stopp", "stop"), ("unsubscrbe", "stop"), ("Stop all", "stop"),
    ("START", "start"), ("চালু", "start"), ("chalu koren", "start"),
    ("HELP", "help"), ("সাহায্য", "help"), ("help me", "help"), ("INFO", "help"),
    ("hello", None), ("1", None), ("shop", None), ("stop by school", None),
    ("বন্ধ ছিল", None), ("", None), ("please", None)])
def test_keywords(text, kind):
    assert KW.match(text) == kind


def test_normalise_folds_case_digits_and_punctuation():
    assert normalise("  STOP!!  ২ ") == "stop 2"
    # the two encodings of য় (precomposed and with nukta) normalise alike
    assert normalise("দয়া") == normalise("দয়া")
