"""Deterministic understanding of a message: keywords (STOP, START, HELP) and numbers.

This runs before any flow and before NLU: a STOP is honoured from any point in any flow.
The keyword lists are data (flows/keywords.yaml) so programme staff can add spellings.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .i18n import ascii_digits

_NOT_WORD = re.compile(r"[^\w\u0980-\u09FF]+")
_NUMBER = re.compile(r"^\s*(?:no\.?|number|নং|নম্বর)?\s*([0-9]{1,6})\s*[.)।]*\s*$", re.IGNORECASE)


def normalise(text: str) -> str:
    """Lower case, NFC, ASCII digits, punctuation to spaces, single spaces."""
    text = ascii_digits(unicodedata.normalize("NFC", text or "")).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


def number(text: str) -> int | None:
    """The number a message is, in either digit script ("২", "2", "2.", "১)"), else None."""
    m = _NUMBER.match(ascii_digits(unicodedata.normalize("NFC", text or "")))
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Keywords:
    stop: frozenset[str]
    start: frozenset[str]
    help: frozenset[str]
    filler: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> "Keywords":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls(**{kind: frozenset(normalise(w) for w in data.get(kind, []))
                      for kind in ("stop", "start", "help", "filler")})

    def match(self, text: str) -> str | None:
        """'stop', 'start' or 'help' when the whole message is that keyword, else None."""
        words = normalise(text).split()
        if not words or len(words) > 6:
            return None
        joined = "".join(words)
        for kind in ("stop", "start", "help"):
            if joined in getattr(self, kind):  # "stop all" -> "stopall"
                return kind
        for kind in ("stop", "start", "help"):
            keywords = getattr(self, kind)
            hits = [w for w in words if _is_keyword(w, keywords)]
            if hits and all(w in self.filler or w in hits for w in words):
                return kind
        return None


def _is_keyword(word: str, keywords: frozenset[str]) -> bool:
    if word in keywords:
        return True
    if len(word) < 4 or not word.isascii():
        return False
    return any(len(k) >= 4 and k.isascii() and _one_edit(word, k) for k in keywords)


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one inserted or dropped letter, or two swapped neighbours.

    Substitutions are left out on purpose: they turn keywords into other words ("shop", "step").
    """
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


@lru_cache(maxsize=4)
def keywords(path: str) -> Keywords:
    return Keywords.load(Path(path))
