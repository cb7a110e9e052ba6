"""Reading Rasa-format NLU training files (version 3.1): examples, their intents and entities.

Both backends learn from bot/nlu/data/nlu.yml; evaluation reads any file in the same format.
Entity annotations ("module [3](module) er video") are removed from the text and returned
beside it, as Rasa does.
"""
from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<entity>[^)]+)\)")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[tuple[str, str], ...] = ()  # (entity, value) pairs


def parse_example(line: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """'module [3](module) er video' -> ('module 3 er video', (('module', '3'),))."""
    entities = tuple((m["entity"], m["text"]) for m in _ANNOTATION.finditer(line))
    return _ANNOTATION.sub(lambda m: m["text"], line).strip(), entities


def load(path: Path) -> list[Example]:
    """Every example of every intent in a Rasa NLU YAML file, in file order."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out = []
    for block in doc.get("nlu") or []:
        if "intent" not in block:
            continue  # regex, lookup and synonym blocks
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            text, entities = parse_example(line[2:])
            out.append(Example(text, block["intent"], entities))
    if not out:
        raise ValueError(f"{path}: no intent examples (expected Rasa 3 NLU YAML)")
    return out


def append(path: Path, examples: list[Example]) -> None:
    """Add examples at the end of their intent's block of a Rasa NLU YAML file, keeping every
    other line (comments included) as it was. Each intent must already have a block."""
    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    for ex in examples:
        start = next((i for i, line in enumerate(lines)
                      if line.strip() == f"- intent: {ex.intent}"), None)
        if start is None:
            raise ValueError(f"{path}: no block for intent {ex.intent!r}")
        end = start + 1
        while end < len(lines) and not lines[end].startswith("- "):
            end += 1
        items = [i for i in range(start + 1, end) if lines[i].lstrip().startswith("- ")]
        if not items:
            raise ValueError(f"{path}: intent {ex.intent!r} has no examples to add to")
        last = items[-1]
        indent = lines[last][:len(lines[last]) - len(lines[last].lstrip())]
        if not lines[last].endswith("\n"):
            lines[last] += "\n"
        lines.insert(last + 1, f"{indent}- {ex.text}\n")
    write_whole(path, "".join(lines))


def write_whole(path: Path, text: str) -> None:
    """Replace a file's text in one step: a crash mid-write leaves the old file, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextmanager
def locked(directory: Path):
    """Hold an exclusive lock on a directory (flock): one writer of its files at a time."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
