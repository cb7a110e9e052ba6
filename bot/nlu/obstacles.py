"""Coding what stopped a teacher, written in words, into one of defaults.OBSTACLES.

A teacher asked what stopped them may answer with a number (the flow codes that) or in words
("somoy pai nai", "গুটি ছিল না", "baccha ra bujhe nai"); `code` reads the words with the
embedded classifier trained on data/obstacles.yml, so that the answer is still counted in the
officers' digests. It says nothing rather than guess when the class is below its bar, or when
too little of the text is known to it (both tuned by cross-validation, data/thresholds.yml):
"other" is the catch-all of its training data, and a slip of the keypad must not be counted as
an obstacle. Replies that name no obstacle ("ok", "it went well") are a class of their own in
the training data (defaults.NOT_AN_OBSTACLE), answered with None too. The caller may ask again, or count the answer as not coded.
"""
from __future__ import annotations

from . import defaults, embedded, thresholds
from .embedded import Guess


def act(g: Guess) -> str | None:
    """The code to count for a guess, or None."""
    if g.intent not in defaults.OBSTACLES or g.known < thresholds.min_known("obstacles"):
        return None  # NOT_AN_OBSTACLE, or too little of the text known
        return None
    return g.intent if g.confidence >= thresholds.bar("obstacles", g.intent) else None


def code(text: str) -> tuple[str, float] | None:
    """(obstacle code, confidence), or None when the text is empty or the classifier unsure."""
    if not (text or "").strip():
        return None
    g = embedded.load(defaults.OBSTACLE_DATA).guess(text[:defaults.MAX_TEXT_CHARS])
    found = act(g)
    return (found, g.confidence) if found else None


def load() -> None:
    """Train the obstacle classifier now (the worker does, before it forks)."""
    embedded.load(defaults.OBSTACLE_DATA)
