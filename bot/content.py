"""Content as data: the AGS modules, their classroom activities and the leadership tips.

flows/content/*.yaml holds them (modules.yaml, leadership.yaml); programme staff edit or replace
those files without code. `load_content` validates them against content.schema.json and refuses a
bad file with 'file:line: reason', like the flows (bot/definition.py). `lint` checks what the
schema cannot: every text in every language, romanised Bangla in GSM-7, and the SMS budget of
the weekly messages rendered with every activity.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from .channels.segments import count, is_gsm7
from .definition import FlowError, _line_of
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Catalogues

SCHEMA_PATH = Path(__file__).resolve().parent / "content.schema.json"
ACTIVITY_FIELDS = ("title", "description", "materials", "try_it")
"""An activity's texts; with `module` they are the params of the weekly messages."""

SCHEDULED_KEYS = (
    N_("weekly.nudge"),
    N_("weekly.nudge_after_skip"),
    N_("weekly.nudge_encourage"),
    N_("weekly.reminder"),
    N_("weekly.reflect_tried"),
)
"""What the weekly campaign sends on its own (the reflection's replies are said by its flow)."""
REFLECTION_KEYS = (
    N_("weekly.reflect_learned"),
    N_("weekly.reflect_change"),
    N_("weekly.reflect_share"),
    N_("weekly.reflect_thanks"),
    N_("weekly.reflect_not_tried"),
    N_("weekly.reflect_not_tried_thanks"),
    N_("weekly.reflect_retry"),
    N_("weekly.snoozed"),
)
"""The reflection conversation's replies (said by the weekly flow), kept in the catalogues here too."""
NUDGE_KEYS = SCHEDULED_KEYS[:3]  # one of these per week, whichever fits the teacher
MAX_SEGMENTS = 2  # every scheduled message fits two SMS segments in every language
MAX_WEEK_SEGMENTS = 6  # longest nudge + reminder + reflection prompt, per teacher per week


class ContentError(FlowError):
    """A content file that cannot be used; str() is 'file:line: reason'."""


@dataclass(frozen=True)
class Activity:
    id: str  # "3.2": module 3, activity 2
    module: int
    title: dict  # language -> text
    description: dict
    materials: dict
    try_it: dict
    path: str = ""
    lines: dict = field(default_factory=dict, compare=False)  # field ("" for itself) -> line

    @property
    def order(self) -> tuple[int, int]:
        module, number = self.id.split(".")
        return int(module), int(number)


@dataclass(frozen=True)
class Module:
    id: int
    title: dict
    activities: tuple[Activity, ...]
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class Tip:
    id: str
    theme: str  # staff_meeting, learning_walk, five_learners, foundation_lessons
    text: dict
    path: str = ""
    line: int = 0


class Content:
    """Every module (by id), every activity in teaching order (1.1, 1.2, ... 2.1, ...), every tip."""

    def __init__(self, modules: list[Module], tips: list[Tip]):
        self.modules: dict[int, Module] = {m.id: m for m in sorted(modules, key=lambda m: m.id)}
        self.activities: list[Activity] = sorted(
            (a for m in self.modules.values() for a in m.activities), key=lambda a: a.order)
        self._by_id = {a.id: a for a in self.activities}
        self._tips = list(tips)

    def activity(self, activity_id: str) -> Activity:
        """The activity "3.2"; KeyError if there is none."""
        return self._by_id[activity_id]

    def tips(self, theme: str | None = None) -> list[Tip]:
        return [t for t in self._tips if theme is None or t.theme == theme]


def text_in(texts: dict, language: str) -> str:
    """The text in `language`, or the Bangla text if that translation is missing."""
    return texts.get(language) or texts[DEFAULT_LANGUAGE]


def activity_fields(activity: Activity, language: str) -> dict:
    """The params of the weekly messages: module (an int: the catalogue localises digits), title,
    description, materials, try_it in `language`."""
    return {"module": activity.module,
            **{name: text_in(getattr(activity, name), language) for name in ACTIVITY_FIELDS}}


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def parse_content(text: str, path: Path | str = "<content>") -> tuple[list[Module], list[Tip]]:
    """Validate one content file's YAML text."""
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ContentError(path, mark.line + 1 if mark else None, f"not valid YAML: {e.problem}") from e
    if tree is None:
        raise ContentError(path, 1, "the file is empty")
    errors = list(_validator().iter_errors(data))
    if errors:
        err = max(errors, key=lambda e: len(e.absolute_path))  # the deepest says most
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        raise ContentError(path, _line_of(tree, err.absolute_path), f"{where}: {err.message}")
    path = str(path)
    modules = []
    for i, m in enumerate(data.get("modules", [])):
        activities = []
        for j, a in enumerate(m["activities"]):
            at = ["modules", i, "activities", j]
            if int(a["id"].split(".")[0]) != m["id"]:
                raise ContentError(path, _line_of(tree, at + ["id"]),
                                   f"activity {a['id']} is in module {m['id']}: its id must "
                                   f"start with '{m['id']}.'")
            lines = {name: _line_of(tree, at + [name]) for name in ("id", *ACTIVITY_FIELDS)}
            lines[""] = _line_of(tree, at)
            activities.append(Activity(a["id"], m["id"], *(a[name] for name in ACTIVITY_FIELDS),
                                       path=path, lines=lines))
        modules.append(Module(m["id"], m["title"], tuple(activities), path,
                              _line_of(tree, ["modules", i])))
    tips = [Tip(t["id"], t["theme"], t["text"], path, _line_of(tree, ["tips", i]))
            for i, t in enumerate(data.get("tips", []))]
    return modules, tips


def load_content(directory: Path | str) -> Content:
    """Every flows/content/*.yaml; ids must be unique across the files."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ContentError(directory, None, "no such directory (the content lives in "
                           "flows/content/ beside the flows)")
    modules: dict[int, Module] = {}
    activities: dict[str, Activity] = {}
    tips: dict[str, Tip] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        file_modules, file_tips = parse_content(path.read_text(encoding="utf-8"), path)
        for m in file_modules:
            if m.id in modules:
                raise ContentError(path, m.line, f"module {m.id} is defined twice "
                                   f"(also {modules[m.id].path}:{modules[m.id].line})")
            modules[m.id] = m
            for a in m.activities:
                if a.id in activities:
                    raise ContentError(path, a.lines[""], f"activity {a.id} is defined twice")
                activities[a.id] = a
        for t in file_tips:
            if t.id in tips:
                raise ContentError(path, t.line, f"tip {t.id} is defined twice")
            tips[t.id] = t
    return Content(list(modules.values()), list(tips.values()))
