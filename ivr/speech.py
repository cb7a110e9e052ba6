"""What is said and heard on a call: numbers as words, text made speakable, answers understood.

Said: a Bangla voice reads "৩" well enough, but "১০-৯৯" or "2=beginner" badly, and the
programme asked for numbers spoken as Bangla words. `speakable` is applied to every value
filled into a voice prompt (counts, names, a teacher's question, an activity's text) and to any
text we did not write for the ear (an officer's digest): digits become words ("১০টা" ->
"দশটা"), "a-b" between numbers becomes "a থেকে b", and "=", "-" and brackets become pauses.
The catalogue's own voice texts are written for the ear already (tests/test_voice.py checks).

Heard: keypad digits, or what Twilio's speech recognition (bn-BD) wrote down. Numbers are read
in either digit script and as words (flows/assessment/levels.yaml's number words, with the
counters Bangla adds: "তিনটা", "দুইবার"); yes and no as the words below.
"""
from __future__ import annotations

import re
import unicodedata

from num2words import num2words

from bot.flows.engine import Input
from bot.i18n import ascii_digits
from bot.parse import normalise

YES = frozenset({"হ্যাঁ", "হ্যা", "হা", "হাঁ", "জি", "জ্বি", "জী", "হয়েছে", "হয়েছিল", "হইছে",
                 "হয়েছে", "হয়েছিল", "করেছি", "করেছে", "করেছিল", "ছিল", "আছে", "ঠিক", "অবশ্যই", "চাই",
                 "yes", "yeah", "yep", "ok", "okay", "ha", "haan", "ji", "hoyeche"})
NO = frozenset({"না", "নাহ", "নেই", "নাই", "হয়নি", "হয়নি", "হয় নাই", "হয়নাই", "করিনি", "করেনি",
                "হয়নি", "no", "nope", "na", "naa", "hoyni"})
"""Words that make a spoken answer a yes or a no; a no wins ("না, হয়নি")."""
COUNTERS = ("খানা", "টা", "টি", "টে", "বার", "জন", "দিন")  # "তিনটা", "দুইবার": a number before
REPEAT_WORDS = frozenset({"আবার", "আবার বলুন", "আবার বলেন", "বুঝিনি", "আবার শুনতে চাই",
                          "repeat", "again", "abar"})
MAX_SAID_NUMBER = 10 ** 12  # past this, digits are read one by one (a phone number, a code)
PHONE_DIGITS = 7  # a run of this many digits is read digit by digit (a phone number, a code)
MAX_COUNT_DIGITS = 9  # a keypad or spoken answer with more digits than this is not a count

_DIGITS = re.compile(r"[0-9০-৯]+")
_RANGE = re.compile(r"([0-9০-৯]+)\s*[-–]\s*([0-9০-৯]+)")
_DASH = re.compile(r"\s+[-–]\s+")  # a dash between words: a pause
_HYPHEN = re.compile(r"[-–]")  # a hyphen inside a word ("দু-তিন", "৩-এর"): a space
_BRACKETS = re.compile(r"\s*[=()\[\]{}]\s*")
_SPACES = re.compile(r"[ \t]+")
_COMMAS = re.compile(r"(\s*,)+")


def voice_language(language: str) -> str:
    """The language a call is spoken in: English for English speakers, Bangla for the rest
    (romanised Bangla is a way of writing SMS, not of speaking)."""
    return "en" if language == "en" else "bn"


def number_words(n: int, language: str) -> str:
    """17 -> "সতেরো" (Bangla) or "seventeen" (English)."""
    lang = voice_language(language)
    if abs(n) > MAX_SAID_NUMBER:
        return " ".join(num2words(int(d), lang=lang) for d in str(abs(n)))
    words = num2words(n, lang=lang)
    return words.replace("-", " ") if lang == "en" else words


def _said(digits: str, language: str) -> str:
    """A run of digits as words: a count as a number ("১২" -> "বারো"); a phone number or a code
    (PHONE_DIGITS or more, or a leading zero: "০১৭১১...", "0042") digit by digit."""
    if len(digits) >= PHONE_DIGITS or (len(digits) > 1 and digits.startswith("0")):
        return " ".join(number_words(int(d), language) for d in digits)
    return number_words(int(digits), language)


_ACTIVITY_ID = re.compile(r"(?<![\d০-৯.])([0-9০-৯])\.([0-9০-৯])(?![\d০-৯])")


def speakable(text: str, language: str) -> str:
    """`text` as a voice should read it: numbers as words, no '=', '-' or brackets."""
    lang = voice_language(language)
    text = unicodedata.normalize("NFC", str(text))
    between = " থেকে " if lang == "bn" else " to "
    text = _RANGE.sub(lambda m: m[1] + between + m[2], text)
    text = _ACTIVITY_ID.sub(r"\1 \2", text)  # "3.1", an activity's id: "three one"
    text = _DIGITS.sub(lambda m: _said(ascii_digits(m[0]), lang), text)
    text = text.replace("%", " শতাংশ" if lang == "bn" else " percent")
    text = _DASH.sub(", ", text)
    text = _HYPHEN.sub(" ", text)
    text = _BRACKETS.sub(", ", text)
    text = _SPACES.sub(" ", text)
    text = _COMMAS.sub(",", text)
    text = re.sub(r",\s*([।.?!:;])", r"\1", text)
    text = re.sub(r",(?=\S)", ", ", text)
    return text.strip(" ,")


def spoken_value(value, language: str):
    """A field's value as a voice prompt fills it in: ints as words, text made speakable."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return number_words(value, language)
    if isinstance(value, str):
        return speakable(value, language)
    return value


def _digits(text: str) -> int | None:
    """ASCII digits as a number; anything else (a superscript "²", a circled "①", which
    str.isdigit() accepts and int() refuses, or a run too long to be a count) is None."""
    if text.isascii() and text.isdecimal() and len(text) <= MAX_COUNT_DIGITS:
        return int(text)
    return None


def _number(tokens: list[str], words: dict[str, int]) -> int | None:
    for tok in tokens:
        if _digits(tok) is not None:
            return _digits(tok)
        stems = [tok[:-len(c)] for c in COUNTERS if tok.endswith(c) and len(tok) > len(c)]
        for stem in [tok] + stems:
            if stem in words:
                return words[stem]
            if _digits(stem) is not None:  # "৩বার", "২টা" (normalised to "3বার", "2টা")
                return _digits(stem)
    return None


def heard(digits: str | None, speech: str | None, number_words_table: dict[str, int]) -> Input:
    """A keypad press or a recognised phrase as the engine's input: the text, a number in it
    (digit or word), and yes/no as the intents affirm/deny."""
    if digits:
        text = ascii_digits(digits.strip())
        return Input(text=text, number=_digits(text))
    text = unicodedata.normalize("NFC", (speech or "").strip().rstrip(".।?!"))
    folded = normalise(text)
    tokens = folded.split()
    number = _number(tokens, number_words_table)
    intent = None
    if any(t in NO for t in tokens) or folded in NO:
        intent = "deny"
    elif any(t in YES for t in tokens) or folded in YES:
        intent = "affirm"
    return Input(text=text, number=number, intent=intent)


def asks_to_repeat(speech: str | None) -> bool:
    return normalise(speech or "") in {normalise(w) for w in REPEAT_WORDS}
