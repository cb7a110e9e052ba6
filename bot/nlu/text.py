"""Spelling-tolerant text forms for the embedded classifier: `fold`, `romanise`, `sound`.

Teachers write the same word many ways: হ্যাঁ / হ্যা / হাঁ, কী / কি, জী / জি, পারছি / পাড়ছি,
"hae" / "hay" / "haa", "dhonnobad" / "donnobad", "kemon" / "kmn", "korchi" / "korsi", and the
same word in either script: ধন্যবাদ / "dhonnobad".

- `fold` maps variants within a script onto one form, so that the character n-grams of a
  variant overlap with those of the training example it resembles.
- `romanise` writes Bangla script in Latin letters as teachers romanise it, then folds it as
  romanised text is: করিনি and "korini" are both "korini". Its n-grams let a word seen in one
  script be recognised in the other.
- `sound` drops the vowels after each word's first letter, which teachers leave out in both
  scripts ("kmn", করছ): ধন্যবাদ and "dhonnobad" both sound "dnbd".

All are applied to training and to incoming text alike; they are lossy on purpose and their
output is never shown to anyone.
"""
from __future__ import annotations

import re
import unicodedata

from ..i18n import ascii_digits

_NUKTA = "\u09bc"
_HASANTA = "\u09cd"

# Bangla: the precomposed nukta letters are decomposed first (য় ড় ঢ় written either way are
# then one sequence), then the letters people interchange are folded.
_BN = str.maketrans({
    "\u0981": None,   # chandrabindu ঁ: হ্যাঁ = হ্যা
    "\u200c": None,   # zero-width non-joiner
    "\u200d": None,   # zero-width joiner
    "ী": "ি", "ূ": "ু",  # long and short i, u signs: কী = কি, জী = জি
    "ঈ": "ই", "ঊ": "উ",
    "ৈ": "ে",            # ৈ / ে: কৈ = কে in hurried typing
    "ষ": "শ", "স": "শ",  # three sibilants written interchangeably
    "ণ": "ন",
    "ঙ": "ং",            # বাঙলা = বাংলা
    "ৎ": "ত",            # khanda ta
    "ঋ": "রি",
    "।": " ", "॥": " ",
})
_SEQUENCES = (
    (_HASANTA + "\u09af", ""),   # ya-phala, often left out: হ্যাঁ = হাঁ, ব্যস্ত = বস্ত
    ("\u09af" + _NUKTA, "\u09df"),  # য় as one code point from here on (see _YA)
    ("\u09a1" + _NUKTA, "র"), ("\u09a2" + _NUKTA, "র"),  # ড় ঢ় and র are confused: পাড়ছি = পারছি
    (_NUKTA, ""),                # any other nukta
)
# য is "j" where it starts a word (যোগ, যদি: = জোগ, জদি) and "y" elsewhere, where it is almost
# always য় typed without its dot, which many keypads lack (হযেছে = হয়েছে, সময = সময়)
_YA_INITIAL = re.compile(r"(?<![\u0980-\u09ff])\u09af")
_YA = "\u09af"
_FINAL_HASANTA = re.compile(_HASANTA + r"(?=\s|$)")  # করুন্ = করুন

# Romanised Bangla: digraphs, doubled letters and final vowels carry no meaning that matters here.
_LATIN_STEPS = (
    (re.compile(r"oo"), "u"), (re.compile(r"ee"), "i"),
    (re.compile(r"ph"), "f"),  # before the h of aspirates goes: phone = fone
    (re.compile(r"([kgcjtdpbs])h"), r"\1"),  # kh→k, gh→g, ch→c, jh→j, th→t, dh→d, bh→b, sh→s
    (re.compile(r"z"), "j"), (re.compile(r"v"), "b"),  # valo = bhalo, zodi = jodi
    (re.compile(r"w"), "o"), (re.compile(r"q"), "k"), (re.compile(r"x"), "ks"),
    (re.compile(r"ae|ay\b|ya"), "a"),  # hae = hay = hya = ha
    (re.compile(r"([a-z])\1+"), r"\1"),  # haaa = ha, jii = ji, dhonnobad = donobad
    (re.compile(r"(?<=[a-z][aeiou])h\b"), ""),  # a final h after a vowel: nah = na, ooh = oo
    (re.compile(r"(?<=[a-z]{2})y\b"), "i"),  # kory = kori, hoby = hobi (after two letters: "hay")
)
_NOT_WORD = re.compile(r"[^\w\u0980-\u09ff]+")


def fold(text: str) -> str:
    """The normalised form of a message (lower case, ASCII digits, one space between words)."""
    text = unicodedata.normalize("NFD", text or "")  # য় ড় ঢ় become letter + nukta
    text = unicodedata.normalize("NFC", text)  # NFC keeps them decomposed (composition exclusions)
    text = ascii_digits(text).casefold()
    for seq, repl in _SEQUENCES:
        text = text.replace(seq, repl)
    text = text.translate(_BN)
    text = _YA_INITIAL.sub("জ", text).replace(_YA, "\u09df")
    text = _FINAL_HASANTA.sub("", text)
    text = " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())
    for pattern, repl in _LATIN_STEPS:
        text = pattern.sub(repl, text)
    return text


# Bangla letters as teachers romanise them (after `fold`: one sibilant, জ for য, no nukta).
_CONSONANTS = {
    "ক": "k", "খ": "kh", "গ": "g", "ঘ": "gh", "চ": "ch", "ছ": "ch", "জ": "j", "ঝ": "jh",
    "ঞ": "n", "ট": "t", "ঠ": "th", "ড": "d", "ঢ": "dh", "ত": "t", "থ": "th", "দ": "d",
    "ধ": "dh", "ন": "n", "প": "p", "ফ": "ph", "ব": "b", "ভ": "bh", "ম": "m", "র": "r",
    "ল": "l", "শ": "sh", "হ": "h", "\u09df": "y",
}
_VOWEL_SIGNS = {"া": "a", "ি": "i", "ু": "u", "ৃ": "ri", "ে": "e", "ো": "o", "ৌ": "ou"}
_VOWELS = {"অ": "o", "আ": "a", "ই": "i", "উ": "u", "এ": "e", "ঐ": "oi", "ও": "o", "ঔ": "ou"}
_SIGNS = {"ং": "ng", "ঃ": "h"}
_LATIN_VOWELS = re.compile(r"(?<=\w)[aeiouy]+")  # every vowel but a word's first letter


def romanise(text: str) -> str:
    """A message in folded Latin letters, whichever script it was written in: Bangla is
    written as teachers romanise it ("করিনি" → "korini", ধন্যবাদ → "donobad"), then folded as
    romanised text is. The inherent vowel is written "o" between consonants and dropped at the
    end of a word, a rough rule that is enough for n-grams."""
    out = []
    chars = fold(text)
    for i, c in enumerate(chars):
        if c in _CONSONANTS:
            out.append(_CONSONANTS[c])
            nxt = chars[i + 1] if i + 1 < len(chars) else " "
            if nxt in _CONSONANTS or nxt in _SIGNS:
                out.append("o")  # the inherent vowel before another consonant
        elif c in _VOWEL_SIGNS:
            out.append(_VOWEL_SIGNS[c])
        elif c in _VOWELS:
            out.append(_VOWELS[c])
        elif c in _SIGNS:
            out.append(_SIGNS[c])
        elif c != _HASANTA:
            out.append(c)
    latin = "".join(out)
    for pattern, repl in _LATIN_STEPS:
        latin = pattern.sub(repl, latin)
    return latin


def devowel(latin: str) -> str:
    """Romanised text without its vowels after a word's first letter ("donobad" → "dnbd")."""
    return _LATIN_VOWELS.sub("", latin)


def sound(text: str) -> str:
    """The consonant skeleton of a message, the same whichever script it was written in:
    ধন্যবাদ and "dhonnobad" both sound "dnbd"."""
    return devowel(romanise(text))
