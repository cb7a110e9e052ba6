"""The numeracy level scale of the quick assessment, as data (flows/assessment/levels.yaml).

Programme staff may rename levels, change the advice or add spellings without touching code;
the file is checked against levels.schema.json when loaded and refused with the reason.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..i18n import ascii_digits
from ..schemas import DataFileError, load_yaml, read_text, schema_problem

SCHEMA_PATH = Path(__file__).resolve().parent / "levels.schema.json"
LEVELS_FILE = Path("assessment") / "levels.yaml"  # under the flows directory


class LevelsError(ValueError):
    """levels.yaml cannot be used; str() names the file and the reason."""


@dataclass(frozen=True)
class Level:
    level: int
    short: dict  # {"bn": ..., "en": ..., "bn-Latn": ...}, for the one-line menu and the read-back
    name: dict  # the full name, for the monthly guide, digests and reports
    advice: str  # catalogue key of the advice for a class mostly at this level
    words: tuple[str, ...] = ()  # more answers that mean this level inside the assessment


@dataclass(frozen=True)
class Scale:
    levels: tuple[Level, ...]
    keywords: frozenset[str]
    grade_words: frozenset[str]
    grades: frozenset[int]
    numbers: dict  # normalised word -> digit
    answers: dict  # label() of a level's short label, name or word -> the level

    def get(self, level: int) -> Level | None:
        return next((lv for lv in self.levels if lv.level == level), None)

    @property
    def numbers_allowed(self) -> list[int]:
        return [lv.level for lv in self.levels]

    def text(self, level: int, part: str, language: str) -> str:
        names = getattr(self.get(level), part)
        return names.get(language, names["en"])

    def level_named(self, text: str) -> int | None:
        """The level a label, name or word means ("এখনো না", "১০-৯৯", "not yet", "শুরু")."""
        return self.answers.get(label(text))


def fold(word: str) -> str:
    """How words are compared: NFC (য় and য + nukta alike), case-folded."""
    return unicodedata.normalize("NFC", word).casefold()


_PUNCTUATION = re.compile(r"[^\w\u0980-\u09FF-]+")


def label(text: str) -> str:
    """How a level label is compared: folded, ASCII digits, punctuation and spaces squeezed."""
    return " ".join(_PUNCTUATION.sub(" ", fold(ascii_digits(text or ""))).split())


def parse_scale(data, source: str = "<levels>") -> Scale:
    problem = schema_problem(SCHEMA_PATH, data)
    if problem:
        raise LevelsError(f"{source}: {problem[1]}")
    levels = tuple(Level(d["level"], d["short"], d["name"], d["advice"],
                         tuple(d.get("words", ()))) for d in data["levels"])
    numbers_seen = [lv.level for lv in levels]
    if numbers_seen != list(range(len(levels))):
        raise LevelsError(f"{source}: levels must be numbered 0, 1, 2, ... in order")
    numbers = {}
    for digit, words in data["numbers"].items():
        for w in words:
            if numbers.setdefault(fold(w), int(digit)) != int(digit):
                raise LevelsError(f"{source}: the number word '{w}' means two numbers")
    keywords = frozenset(fold(w) for w in data["keywords"])
    grade_words = frozenset(fold(w) for w in data["grade_words"])
    clash = (keywords | grade_words) & set(numbers)
    if keywords & grade_words or clash:
        raise LevelsError(f"{source}: a word is both a keyword, a grade word or a number: "
                          f"{sorted((keywords & grade_words) | clash)}")
    answers: dict[str, int] = {}
    for lv in levels:
        for said in [*lv.short.values(), *lv.name.values(), *lv.words]:
            key = label(said)
            if answers.setdefault(key, lv.level) != lv.level:
                raise LevelsError(f"{source}: '{said}' names two levels")
            if key in numbers or key in keywords:
                raise LevelsError(f"{source}: '{said}' is both a level and a number or keyword")
    return Scale(levels, keywords, grade_words, frozenset(data["grades"]),
                 numbers, answers)


@lru_cache(maxsize=4)
def scale(flows_dir: str) -> Scale:
    path = Path(flows_dir) / LEVELS_FILE
    try:  # the data files' reader: file:line, keys given twice, alias bombs
        _, data = load_yaml(read_text(path), path)
    except OSError as e:
        raise LevelsError(f"{path}: {e}") from e
    except DataFileError as e:
        raise LevelsError(str(e)) from None
    return parse_scale(data, str(path))


def extract_levels(fileobj, keywords, comment_tags, options):
    """pybabel extractor for levels.yaml: the advice keys it names."""
    data = yaml.safe_load(fileobj.read().decode("utf-8"))
    for i, level in enumerate(data.get("levels", [])):
        if "advice" in level:
            yield i + 1, None, level["advice"], [f"advice for level {level.get('level')}"]
