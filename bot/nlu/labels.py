"""Labelled lines from a review, checked as the data tests check the training files, then added.

A label file is a CSV with a `text` and a `label` column (and the `id` `sathi nlu review --csv`
wrote, which is kept to mark the message reviewed). A label is an intent (defaults.INTENTS: the
line goes to data/nlu.yml) or an obstacle code (defaults.OBSTACLES: data/obstacles.yml); rows
with no label are skipped. Nothing is added unless every labelled row passes:
- its label is an intent or an obstacle code;
- its text is one line, not empty, at most defaults.MAX_LABEL_CHARS characters, without a
  phone number or Rasa's entity markup;
- it is not a line of the training file, of an evaluation file (held-out or blind), or of the
  same label file, once case, punctuation and spelling variants are folded away.
Then the per-class bars are tuned again (thresholds.py), as the training files changed.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..logs import mask_numbers
from ..parse import normalise
from . import data, defaults
from .text import fold


@dataclass(frozen=True)
class Labelled:
    line: int  # in the label file, for messages
    text: str
    label: str
    review_id: int | None  # the `understood` row it came from, if any


class LabelError(ValueError):
    """Some labelled rows were refused; `problems` says which and why ("LINE: reason")."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def read(path: Path) -> list[Labelled]:
    """The labelled rows of a CSV label file (rows without a label are skipped)."""
    try:
        return _read(path)
    except (UnicodeDecodeError, csv.Error) as e:
        raise LabelError([f"not a UTF-8 CSV file ({e})"]) from None


def _read(path: Path) -> list[Labelled]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"text", "label"} - set(reader.fieldnames or ())
        if missing:
            raise LabelError([f"no {' or '.join(sorted(missing))} column in the header"])
        rows = []
        for row in reader:
            label = (row.get("label") or "").strip()
            if not label:
                continue
            raw_id = (row.get("id") or "").strip()
            rows.append(Labelled(reader.line_num, row.get("text") or "", label,
                                 int(raw_id) if raw_id.isdigit() else None))
        return rows


def target(label: str) -> Path | None:
    """The training file a label's lines go to, or None for an unknown label."""
    if label in defaults.INTENTS:
        return defaults.DATA
    if label in defaults.OBSTACLES:
        return defaults.OBSTACLE_DATA
    return None


def _keys(text: str) -> set[str]:
    return {fold(text), normalise(text)}


def check(rows: list[Labelled]) -> list[str]:
    """Every reason to refuse a row, as "line N: reason" (an empty list: all may be added)."""
    problems = []
    training = {path: {k for e in data.load(path) for k in _keys(e.text)}
                for path in (defaults.DATA, defaults.OBSTACLE_DATA)}
    evaluation = {k for path in defaults.EVALUATION_FILES if Path(path).exists()
                  for e in data.load(path) for k in _keys(e.text)}
    batch: set[str] = set()
    for row in rows:
        text = row.text.strip()
        where = f"line {row.line}"
        path = target(row.label)
        if path is None:
            problems.append(f"{where}: {row.label!r} is neither an intent nor an obstacle code")
            continue
        if not text:
            problems.append(f"{where}: no text")
            continue
        if len(text.splitlines()) != 1:  # \n, \r and the Unicode line breaks alike
            problems.append(f"{where}: more than one line")
        elif len(text) > defaults.MAX_LABEL_CHARS:
            problems.append(f"{where}: longer than {defaults.MAX_LABEL_CHARS} characters")
        elif mask_numbers(text) != text:
            problems.append(f"{where}: holds a phone number")
        elif data.parse_example(text)[0] != text or text.startswith(("- ", "#")):
            problems.append(f"{where}: holds markup ([..](..), a leading '- ' or '#')")
        elif _keys(text) & evaluation:
            problems.append(f"{where}: is a line of an evaluation file, never trained on")
        elif _keys(text) & training[path]:
            problems.append(f"{where}: is already in {path.name}")
        elif _keys(text) & batch:
            problems.append(f"{where}: repeats an earlier line of this file")
        batch |= _keys(text)
    return problems


def add(rows: list[Labelled]) -> dict[str, int]:
    """Check, then append every row to its training file and tune the bars again.
    Returns {training file name: lines added}. Raises LabelError, adding nothing."""
    from . import embedded, thresholds

    with data.locked(defaults.DATA.parent):  # two people labelling at once: one after the other
        problems = check(rows)
        if problems:
            raise LabelError(problems)
        added: dict[str, int] = {}
        by_file: dict[Path, list[data.Example]] = {}
        for row in rows:
            by_file.setdefault(target(row.label), []).append(
                data.Example(row.text.strip(), row.label))
        for path, examples in by_file.items():
            data.append(path, examples)
            added[path.name] = len(examples)
        if by_file:
            embedded.forget()
            thresholds.retune({name for name, path in thresholds.models().items()
                               if path in by_file})
        return added
