"""Quick assessment entry: five learners' levels from one short message.

"A 2 3 1 1 0", "a23110", "মূল্যায়ন ২ ৩ ১ ১ ০", "assess 2,3,1,1,0", "A G2 dui tin ek ek shunno":
a keyword (from levels.yaml), an optional grade, then one level per learner in either digit
script or as number words, with any separators. `read` gives back an `Entry`: five valid levels
(and the grade), or one precise problem (which learner, what was wrong), or "start the guided
questions", or None when the message is not an assessment at all. It never raises on any text.

The entry's `fields` start the assessment flow (flows/assessment.yaml), which reads the levels
back and saves them only after the teacher confirms.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..i18n import ascii_digits
from .levels import Scale, fold

FLOW = "assessment"  # the flow id in flows/assessment.yaml
LEARNERS = 5  # learners per assessment: slot 1 a high attainer, 2-3 middle, 4-5 low attainers
BARE_MIN = 3  # inside the assessment flow, this many numbers without a keyword are a whole entry
TOKEN_SHOWN = 15  # characters of a word we did not understand that the reply repeats
ROLES = ("teacher", "headteacher")  # who enters assessments: people of a school

# one digit is one level ("23110" is five levels); words are runs of Latin or Bengali letters
_TOKEN = re.compile(r"(?P<digit>[0-9])|(?P<word>[a-z]+|[\u0980-\u09FF\u200c\u200d]+|[^\W\d_]+)")

# what went wrong, in the order it is looked for
NOT_A_LEVEL, UNKNOWN_WORD, BAD_GRADE, TOO_FEW, TOO_MANY = (
    "not_a_level", "unknown_word", "bad_grade", "too_few", "too_many")


@dataclass(frozen=True)
class Problem:
    kind: str
    slot: int | None = None  # the learner it is about
    token: str | None = None  # what the teacher wrote there
    count: int | None = None  # how many levels came


@dataclass(frozen=True)
class Entry:
    levels: tuple[int, ...] | None = None
    grade: int | None = None
    problem: Problem | None = None
    guided: bool = False

    def fields(self, scale: Scale) -> dict:
        """The run fields the assessment flow starts with."""
        top = max(scale.numbers_allowed)
        if self.levels is not None:
            fields = {"entry": "levels", "top": top}
            fields.update({f"l{i}": v for i, v in enumerate(self.levels, 1)})
            if self.grade is not None:
                fields["grade"] = self.grade
            return fields
        if self.problem is not None:
            p = self.problem
            extra = {"slot": p.slot, "token": p.token, "count": p.count}
            return {"entry": "problem", "problem": p.kind, "top": top,
                    **{k: v for k, v in extra.items() if v is not None}}
        return {"top": top, **({"grade": self.grade} if self.grade is not None else {})}


GUIDED = Entry(guided=True)


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ('digit', '2') or ('word', 'dui'); everything else separates."""
    text = fold(ascii_digits(unicodedata.normalize("NFC", text or "")))
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]


def _value(token: tuple[str, str], scale: Scale) -> int | None:
    kind, text = token
    return int(text) if kind == "digit" else scale.numbers.get(text)


def read(text: str, scale: Scale, in_flow: bool = False) -> Entry | None:
    """What an assessment message says; None when it is not one.

    Outside the assessment flow a message must start with a keyword. Inside it (in_flow), a
    bare run of at least BARE_MIN numbers ("2 3 1 1 0") is an entry too.
    """
    toks = tokens(text)
    if not toks:
        return None
    if toks[0][0] == "word" and toks[0][1] in scale.keywords:
        rest = toks[1:]
        if not rest:  # the keyword alone; a lone letter ("A") is too easily sent by mistake
            return GUIDED if len(toks[0][1]) > 1 else None
    elif in_flow:
        rest = toks
        if len(rest) < BARE_MIN or any(_value(t, scale) is None for t in rest):
            return None
    else:
        return None

    grade = None
    if rest[0][0] == "word" and rest[0][1] in scale.grade_words:
        grade = _value(rest[1], scale) if len(rest) > 1 else None
        if grade is None or grade not in scale.grades:
            return Entry(problem=Problem(BAD_GRADE))
        rest = rest[2:]
        if not rest:  # "A G2": the guided questions, for grade 2
            return Entry(guided=True, grade=grade)
    if _value(rest[0], scale) is None:
        return None  # "A lot of learners ...": a sentence, not an entry

    allowed = set(scale.numbers_allowed)
    for slot, tok in enumerate(rest[:LEARNERS], 1):
        value = _value(tok, scale)
        if value is None:
            return Entry(problem=Problem(UNKNOWN_WORD, slot=slot, token=tok[1][:TOKEN_SHOWN]))
        if value not in allowed:
            return Entry(problem=Problem(NOT_A_LEVEL, slot=slot, token=str(value)))
    if len(rest) < LEARNERS:
        return Entry(problem=Problem(TOO_FEW, count=len(rest)))
    if len(rest) > LEARNERS:
        return Entry(problem=Problem(TOO_MANY, count=len(rest)))
    return Entry(levels=tuple(_value(t, scale) for t in rest), grade=grade)


def number_word(text: str, scale: Scale) -> int | None:
    """The number a message of one number word is ("dui", "দুই", "two"), or the level a level's
    label or word means ("এখনো না", "১০-৯৯", "শুরু"), else None."""
    level = scale.level_named(text)
    if level is not None:
        return level
    toks = tokens(text)
    if len(toks) == 1 and toks[0][0] == "word":
        return scale.numbers.get(toks[0][1])
    return None


def render(levels, grade: int | None = None, style: str = "spaces") -> str:
    """A compact entry as a teacher might type it (for tests and the help text)."""
    sep = {"spaces": " ", "commas": ",", "none": ""}[style]
    head = "A " + (f"G{grade} " if grade is not None else "")
    return head + sep.join(str(v) for v in levels)
