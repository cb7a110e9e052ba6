"""Spelling-tolerant text normalisation for the embedded classifier.

Teachers write the same word many ways: হ্যাঁ / হ্যা / হাঁ, কী / কি, জী / জি, পারছি / পাড়ছি,
"hae" / "hay" / "haa", "dhonnobad" / "donnobad", "kemon" / "kmn", "korchi" / "korsi".
`fold` maps such variants onto one form, in both scripts, so that character n-grams of a
variant overlap with those of the training example it resembles. It is applied to training and
to incoming text alike; it is lossy on purpose and its output is never shown to anyone.
"""
from __future__ import annotations

import re
import unicodedata

from ..i18n import ascii_digits

# Bangla: NFC first (it also unifies nukta forms: U+09DF য় and য + ় are one sequence after NFC,
# likewise ড় ঢ়), then fold the letters people interchange.
_BN = str.maketrans({
    "\u0981": None,   # chandrabindu ঁ: হ্যাঁ = হ্যা
    "\u200c": None,   # zero-width non-joiner
    "\u200d": None,   # zero-width joiner
    "ী": "ি", "ূ": "ু",  # long and short i, u signs: কী = কি, জী = জি
    "ঈ": "ই", "ঊ": "উ",
    "ষ": "শ", "স": "শ",  # three sibilants written interchangeably
    "ণ": "ন",
    "ঙ": "ং",            # বাঙলা = বাংলা
    "ৎ": "ত",            # khanda ta
    "য": "জ",            # য / জ are one sound (য় is kept apart, see _SEQUENCES)
    "ঋ": "রি",
    "।": " ", "॥": " ",
})
_SEQUENCES = (
    ("\u09cd\u09af", ""),      # ya-phala, often left out: হ্যাঁ = হাঁ, ব্যস্ত = বস্ত
    ("\u09af\u09bc", "\u09df"),  # য় (ya) is a letter of its own: kept, as one code point
    ("\u09a1\u09bc", "র"), ("\u09a2\u09bc", "র"),  # ড় ঢ় and র are confused: পাড়ছি = পারছি
)
_FINAL_HASANTA = re.compile(r"\u09cd(?=\s|$)")  # করুন্ = করুন

# Romanised Bangla: digraphs and doubled letters carry no meaning that matters here.
_LATIN_STEPS = (
    (re.compile(r"oo"), "u"), (re.compile(r"ee"), "i"),
    (re.compile(r"([kgcjtdpbs])h"), r"\1"),  # kh→k, gh→g, ch→c, jh→j, th→t, dh→d, bh→b, sh→s
    (re.compile(r"ph"), "f"), (re.compile(r"z"), "j"), (re.compile(r"v"), "b"),  # valo = bhalo
    (re.compile(r"w"), "o"), (re.compile(r"q"), "k"), (re.compile(r"x"), "ks"),
    (re.compile(r"ae|ay\b|ya"), "a"),  # hae = hay = hya = ha
    (re.compile(r"([a-z])\1+"), r"\1"),  # haaa = ha, jii = ji, dhonnobad = donobad
)
_NOT_WORD = re.compile(r"[^\w\u0980-\u09ff]+")


def fold(text: str) -> str:
    """The normalised form of a message (lower case, ASCII digits, one space between words)."""
    text = unicodedata.normalize("NFC", text or "")
    text = ascii_digits(text).casefold()
    text = unicodedata.normalize("NFD", text) if _has_nukta_letters(text) else text
    for seq, repl in _SEQUENCES:
        text = text.replace(seq, repl)
    text = text.translate(_BN)
    text = _FINAL_HASANTA.sub("", text)
    for pattern, repl in _LATIN_STEPS:
        text = pattern.sub(repl, text)
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


def _has_nukta_letters(text: str) -> bool:
    # য় ড় ঢ় as single code points (NFC keeps them decomposed, but be sure of it)
    return any(c in text for c in "\u09dc\u09dd\u09df")
