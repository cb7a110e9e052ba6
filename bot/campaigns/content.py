"""Content as data: modules, their classroom activities and the leadership tips.

flows/content/*.yaml holds them (modules.yaml, leadership.yaml); programme staff edit or replace
those files without code. The shipped modules.yaml is a draft of our own (its `draft:` says so)
until the programme team supplies the official AGS list (`sathi content import`, spreadsheet.py).
`load_content` validates the files against content.schema.json and refuses a bad file with
'file:line: reason', like the flows (bot/flows/definition.py). `lint` checks what the schema
cannot: every text in every language, romanised Bangla in GSM-7, every assessment level served by
enough activities, and the SMS budget of the weekly messages rendered with every activity.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..assessment.levels import Scale
from ..channels.segments import count, is_gsm7
from ..i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    Catalogues,
    MissingTranslation,
    catalogue_dir,
    weekday_name,
)
from ..schemas import DataFileError, line_of, load_yaml, read_text, schema_problem
from ..store.models import ContentAudit, ContentEdit

SCHEMA_PATH = Path(__file__).resolve().parent / "content.schema.json"
ACTIVITY_FIELDS = ("title", "description", "materials", "try_it")
"""An activity's texts; with `module` they are the params of the weekly messages."""

WEEK = (
    (N_("weekly.nudge"), N_("weekly.nudge_after_skip"), N_("weekly.nudge_encourage")),
    (N_("weekly.reminder"),),
    (N_("weekly.reflect_tried"), N_("weekly.reflect_tried_planned")),
)
"""What the weekly campaigns send on their own, one message of each group a week: the nudge
(whichever variant fits the teacher), the reminder, the reflection prompt (naming the planned day
when the teacher gave one). The reflection's replies are said by its flow."""
SCHEDULED_KEYS = tuple(key for group in WEEK for key in group)
REFLECTION_KEYS = (
    N_("weekly.plan_thanks"),
    N_("weekly.reflect_learned"),
    N_("weekly.reflect_worked"),
    N_("weekly.reflect_obstacle"),
    N_("weekly.reflect_obstacle_other"),
    N_("weekly.reflect_change"),
    N_("weekly.reflect_share"),
    N_("weekly.reflect_share_upazila"),
    N_("weekly.reflect_thanks"),
    N_("weekly.reflect_not_tried"),
    N_("weekly.reflect_not_tried_thanks"),
    N_("weekly.reflect_retry"),
    N_("weekly.snoozed"),
)
"""The replies within the week's flows (the plan's thanks, the reflection's questions), kept in
every catalogue too."""
MAX_SEGMENTS = 2  # every scheduled message fits two SMS segments in every language
MAX_WEEK_SEGMENTS = 6  # longest nudge + reminder + reflection prompt, per teacher per week
MIN_PER_LEVEL = 3  # activities that must suit each assessment level (the lint's rule)


class ContentError(DataFileError):
    """A content file that cannot be used; str() is 'file:line: reason'."""


@dataclass(frozen=True)
class Activity:
    id: str  # "3.2": module 3, activity 2
    module: int
    title: dict  # language -> text
    description: dict
    materials: dict
    try_it: dict
    grades: tuple[int, ...] = ()  # the class grades it suits
    levels: tuple[int, ...] = ()  # the assessment levels of a class it suits
    video: int | None = None  # the AGS module whose video on Muktopaath shows it
    path: str = field(default="", compare=False)
    lines: dict = field(default_factory=dict, compare=False)  # field ("" for itself) -> line

    def suits(self, level: int, grade: int | None = None) -> bool:
        """For a class whose learners are mostly at `level` (and of `grade`, when known)."""
        return level in self.levels and (grade is None or grade in self.grades)

    @property
    def order(self) -> tuple[int, int]:
        module, number = self.id.split(".")
        return int(module), int(number)


@dataclass(frozen=True)
class Module:
    id: int
    title: dict
    activities: tuple[Activity, ...]
    path: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Tip:
    id: str
    theme: str  # staff_meeting, learning_walk, five_learners, foundation_lessons
    text: dict
    path: str = ""
    line: int = 0


class Content:
    """Every module (by id), every activity in teaching order (1.1, 1.2, ... 2.1), every tip."""

    def __init__(self, modules: list[Module], tips: list[Tip], draft: str | None = None):
        self.draft = draft  # why the modules are a draft of our own; None for the official list
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

    def suiting(self, level: int, grade: int | None = None) -> list[Activity]:
        """The activities for a class mostly at `level` (and of `grade`), in teaching order."""
        return [a for a in self.activities if a.suits(level, grade)]

    def by_need(self, level: int, grade: int | None, given: set[str]) -> list[Activity]:
        """For a class mostly at `level`, the activities not yet `given`, best first: those that
        suit the level and the grade, then the level whatever the grade, then the rest in
        teaching order. All given: those that suit, again, then the whole sequence."""
        ranked = list({a.id: a for a in [*self.suiting(level, grade), *self.suiting(level),
                                          *self.activities]}.values())
        return [a for a in ranked if a.id not in given] or ranked


def text_in(texts: dict, language: str) -> str:
    """The text in `language`, or the Bangla text if that translation is missing."""
    return texts.get(language) or texts[DEFAULT_LANGUAGE]


def activity_fields(activity: Activity, language: str) -> dict:
    """The params of the weekly messages: module (an int: the catalogue localises digits), title,
    description, materials, try_it in `language`."""
    return {"module": activity.module,
            **{name: text_in(getattr(activity, name), language) for name in ACTIVITY_FIELDS}}


def parse_content(text: str, path: Path | str = "<content>"
                  ) -> tuple[list[Module], list[Tip], str | None]:
    """Validate one content file's YAML text: its modules, tips and draft note."""
    tree, data = load_yaml(text, path, ContentError)
    problem = schema_problem(SCHEMA_PATH, data)
    if problem:
        raise ContentError(path, line_of(tree, problem[0]), problem[1])
    path = str(path)
    modules = []
    for i, m in enumerate(data.get("modules", [])):
        activities = []
        for j, a in enumerate(m["activities"]):
            at = ["modules", i, "activities", j]
            if int(a["id"].split(".")[0]) != m["id"]:
                raise ContentError(path, line_of(tree, at + ["id"]),
                                   f"activity {a['id']} is in module {m['id']}: its id must "
                                   f"start with '{m['id']}.'")
            lines = {name: line_of(tree, at + [name]) for name in ("id", *ACTIVITY_FIELDS)}
            lines[""] = line_of(tree, at)
            activities.append(Activity(a["id"], m["id"], *(a[name] for name in ACTIVITY_FIELDS),
                                       grades=tuple(a["grades"]), levels=tuple(a["levels"]),
                                       video=a.get("video"), path=path, lines=lines))
        modules.append(Module(m["id"], m["title"], tuple(activities), path,
                              line_of(tree, ["modules", i])))
    tips = [Tip(t["id"], t["theme"], t["text"], path, line_of(tree, ["tips", i]))
            for i, t in enumerate(data.get("tips", []))]
    return modules, tips, data.get("draft")


def load_content(directory: Path | str) -> Content:
    """Every flows/content/*.yaml; ids must be unique across the files."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ContentError(directory, None, "no such directory (the content lives in "
                           "flows/content/ beside the flows)")
    modules: dict[int, Module] = {}
    activities: dict[str, Activity] = {}
    tips: dict[str, Tip] = {}
    drafts = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        file_modules, file_tips, draft = parse_content(read_text(path, ContentError), path)
        if draft:
            drafts.append(f"{path.name}: {draft}")
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
    return Content(list(modules.values()), list(tips.values()), "; ".join(drafts) or None)


def _texts(content: Content):
    """(path, line, what, texts) of every text in the content."""
    for m in content.modules.values():
        yield m.path, m.line, f"module {m.id} title", m.title
        for a in m.activities:
            for name in ACTIVITY_FIELDS:
                yield a.path, a.lines[name], f"activity {a.id} {name}", getattr(a, name)
    for t in content.tips():
        yield t.path, t.line, f"tip {t.id}", t.text


# control characters (a line break is text), byte order marks, line and paragraph separators,
# non-characters and lone surrogates: invisible in the console and the files, garbled or refused
# by a phone or gateway, and a NUL is refused by PostgreSQL itself
_UNSENDABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029\ufffe\uffff"
                         "\ud800-\udfff]")


def unsendable(text: str) -> str | None:
    """Why `text` cannot go in an SMS as it is ("has U+0007, a character ..."); None if it can."""
    found = _UNSENDABLE.search(text)
    if found is None:
        return None
    return (f"has U+{ord(found.group()):04X}, a character an SMS cannot carry (a control "
            f"character or an invisible mark, pasted with the text?)")


def _not_gsm7(text: str) -> str:
    return "".join(sorted({ch for ch in text if not is_gsm7(ch)}))


@dataclass
class Budget:
    """The SMS cost of the weekly messages: the most segments each key needs, per language, with
    the activity that needs them, and the longest week (the longest message of each WEEK group)."""
    longest: dict = field(default_factory=dict)  # (key, language) -> (segments, units, activity id)
    week: dict = field(default_factory=dict)  # language -> (segments, activity id)

    def as_dict(self) -> dict:
        return {"messages": {f"{k} {lang}": {"segments": s, "units": u, "activity": a}
                             for (k, lang), (s, u, a) in sorted(self.longest.items())},
                "week": {lang: {"segments": s, "activity": a}
                         for lang, (s, a) in self.week.items()}}


def longest_weekday(language: str) -> str:
    """The longest weekday name in `language`, the worst case of a message's {day}."""
    return max((weekday_name(date(2026, 11, 22 + i), language) for i in range(7)),
               key=lambda name: count(name).units)


def budget(content: Content, catalogues: Catalogues, max_segments: int = MAX_SEGMENTS,
           max_week: int = MAX_WEEK_SEGMENTS) -> tuple[Budget, list[str]]:
    """Render every scheduled message with every activity in every language (and the longest
    weekday name for the planned day); the figures and the problems (a message over
    `max_segments`, a week over `max_week`)."""
    figures, problems = Budget(), []
    for lang in LANGUAGES:
        day = longest_weekday(lang)
        for a in content.activities:
            if any(lang not in getattr(a, name) for name in ACTIVITY_FIELDS):
                continue  # a missing translation is reported by itself, not as its fallback's cost
            where = f"{a.path}:{a.lines['']}"
            params = {**activity_fields(a, lang), "day": day}
            cost = {}
            for key in SCHEDULED_KEYS:
                try:
                    seg = count(catalogues.text(key, lang, **params))
                except MissingTranslation:
                    continue  # reported by lint as a missing key
                except (KeyError, IndexError, ValueError) as e:  # a placeholder the params lack
                    problems.append(f"{where}: {key} in {lang} cannot be rendered: {e!r}")
                    continue
                cost[key] = seg.segments
                best = figures.longest.get((key, lang))
                if best is None or (seg.segments, seg.units) > best[:2]:
                    figures.longest[key, lang] = (seg.segments, seg.units, a.id)
                if seg.segments > max_segments:
                    problems.append(f"{where}: {key} with activity {a.id} in {lang} needs "
                                    f"{seg.segments} SMS segments ({seg.encoding}, {seg.units} "
                                    f"units); at most {max_segments}")
            if len(cost) == len(SCHEDULED_KEYS):
                week = sum(max(cost[k] for k in group) for group in WEEK)
                if week > figures.week.get(lang, (0, ""))[0]:
                    figures.week[lang] = (week, a.id)
                if week > max_week:
                    problems.append(f"{where}: the week of activity {a.id} in {lang} needs {week} "
                                    f"SMS segments; at most {max_week}")
    return figures, problems


def _level_problems(content: Content, scale: Scale) -> list[str]:
    """Every activity's levels and grades are the scale's; every level is suited by at least
    MIN_PER_LEVEL activities, so a class at any level gets activities that fit it."""
    problems = []
    levels, grades = set(scale.numbers_allowed), set(scale.grades)
    for a in content.activities:
        where = f"{a.path}:{a.lines.get('', 0)}"
        for lv in sorted(set(a.levels) - levels):
            problems.append(f"{where}: activity {a.id} suits level {lv}, which "
                            f"flows/assessment/levels.yaml does not have")
        for g in sorted(set(a.grades) - grades):
            problems.append(f"{where}: activity {a.id} suits grade {g}; the grades are "
                            f"{', '.join(str(x) for x in sorted(grades))}")
    where = next((f"{m.path}:{m.line}" for m in content.modules.values()), "modules")
    for lv in scale.numbers_allowed:
        suiting = [a.id for a in content.suiting(lv)]
        if len(suiting) < MIN_PER_LEVEL:
            problems.append(f"{where}: level {lv} is suited by {len(suiting)} "
                            f"activit{'y' if len(suiting) == 1 else 'ies'}"
                            f"{' (' + ', '.join(suiting) + ')' if suiting else ''}; "
                            f"at least {MIN_PER_LEVEL}")
    return problems


def lint(content: Content, catalogues: Catalogues, scale: Scale | None = None,
         max_segments: int = MAX_SEGMENTS, max_week: int = MAX_WEEK_SEGMENTS) -> list[str]:
    """Every problem as 'file:line: reason'; an empty list when the content is fit to send.

    Every text in bn, en and bn-Latn; Bangla with Bengali digits; English and romanised Bangla in
    GSM-7; each tip within MAX_SEGMENTS; the weekly keys in every catalogue; with the assessment
    levels (`scale`), every level suited by MIN_PER_LEVEL activities; and the SMS budget."""
    problems = []
    for path, line, what, texts in _texts(content):
        for lang in LANGUAGES:
            if lang not in texts:
                problems.append(f"{path}:{line}: {what} has no {lang} text")
        if re.search(r"[0-9]", texts.get("bn", "")):
            problems.append(f"{path}:{line}: {what} (bn) has ASCII digits: use ০-৯ in Bangla")
        for lang, text in texts.items():
            bad = unsendable(text)
            if bad:
                problems.append(f"{path}:{line}: {what} ({lang}) {bad}")
        for lang in ("en", "bn-Latn"):
            bad = _not_gsm7(texts.get(lang, ""))
            if bad:
                problems.append(f"{path}:{line}: {what} ({lang}) is not GSM-7, so each SMS "
                                f"holds 70 characters, not 160: {bad!r}")
        if what.startswith("tip"):
            for lang, text in texts.items():
                segments = count(text).segments
                if segments > max_segments:
                    problems.append(f"{path}:{line}: {what} ({lang}) needs "
                                    f"{segments} SMS segments; at most {max_segments}")
    if scale is not None:
        problems.extend(_level_problems(content, scale))
    for key in SCHEDULED_KEYS + REFLECTION_KEYS:
        for lang in LANGUAGES:
            po = catalogues.directory / catalogue_dir(lang) / "LC_MESSAGES" / "messages.po"
            template = catalogues.template(key, lang)
            if template is None:
                problems.append(f"{po}: {key} has no {lang} text")
            elif lang == "bn-Latn" and _not_gsm7(template):
                problems.append(f"{po}: {key} ({lang}) is not GSM-7: {_not_gsm7(template)!r}")
    problems.extend(budget(content, catalogues, max_segments, max_week)[1])
    return problems


# -- the console's edits ---------------------------------------------------------------------
# An edit made in the console is a row of `content_edit` (and one of `content_audit`), laid over
# the shipped files by every process (runtime: `content`, `catalogues`) for the next sends: no
# deploy, and every web host and worker sees the same texts. The files stay as shipped, so a
# deploy never overwrites an edit and an edit is never lost to a machine that is replaced.
@dataclass(frozen=True)
class Edit:
    kind: str  # module | activity | tip | message
    item: str  # "3", "3.2", "staff_meeting.1", "weekly.nudge"
    field: str  # title, description, materials, try_it, text; "" for a message
    language: str
    text: str


EDIT_KINDS = {"module": ("title",), "activity": ACTIVITY_FIELDS, "tip": ("text",),
              "message": ("",)}
"""What can be edited: each kind's fields."""


def load_overrides(db: Session, since: int | None = None) -> tuple[int, list[Edit] | None]:
    """(the latest audit id, every edit in force); the edits are None when nothing was changed
    since the audit id `since`."""
    revision = db.execute(select(func.max(ContentAudit.id))).scalar() or 0
    if since is not None and revision == since:
        return revision, None
    rows = db.execute(select(ContentEdit).order_by(ContentEdit.id)).scalars().all()
    return revision, [Edit(r.kind, r.item, r.field, r.language, r.text) for r in rows]


def apply_overrides(content: Content, edits: list[Edit]) -> Content:
    """`content` with the edited texts of modules, activities and tips (an edit of something no
    longer in the files is left out)."""
    texts: dict[tuple[str, str, str], dict] = {}
    for e in edits:
        if e.kind != "message":
            texts.setdefault((e.kind, e.item, e.field), {})[e.language] = e.text
    if not texts:
        return content

    def edited(kind: str, item: str, name: str, current: dict) -> dict:
        return {**current, **texts.get((kind, item, name), {})}

    modules = []
    for m in content.modules.values():
        activities = tuple(dataclasses.replace(a, **{
            name: edited("activity", a.id, name, getattr(a, name)) for name in ACTIVITY_FIELDS})
            for a in m.activities)
        modules.append(dataclasses.replace(m, title=edited("module", str(m.id), "title", m.title),
                                           activities=activities))
    tips = [dataclasses.replace(t, text=edited("tip", t.id, "text", t.text))
            for t in content.tips()]
    return Content(modules, tips, content.draft)


def texts_of(content: Content, catalogues: Catalogues, kind: str, item: str,
             name: str) -> dict[str, str]:
    """Every language's text in force (edited or shipped) for one editable text; KeyError for
    an item or field that does not exist."""
    if name not in EDIT_KINDS.get(kind, ()):
        raise KeyError(name)
    if kind == "message":
        if catalogues.shipped(item, DEFAULT_LANGUAGE) is None:
            raise KeyError(item)
        return {lang: text for lang in LANGUAGES
                if (text := catalogues.template(item, lang)) is not None}
    if kind == "module":
        module = content.modules.get(int(item)) if item.isdigit() else None
        if module is None:
            raise KeyError(item)
        return dict(module.title)
    if kind == "activity":
        return dict(getattr(content.activity(item), name))
    tip = next((t for t in content.tips() if t.id == item), None)
    if tip is None:
        raise KeyError(item)
    return dict(tip.text)


def check_edit(content: Content, catalogues: Catalogues, scale: Scale | None,
               edit: Edit) -> list[str]:
    """The lint's problems with the content as it would be after `edit` (an empty text takes
    that language away); an empty list when the edit may take effect."""
    if edit.kind == "message":
        return message_problems(catalogues, edit.item, edit.language, edit.text)
    texts = texts_of(content, catalogues, edit.kind, edit.item, edit.field)  # KeyError: none
    if edit.text.strip():
        texts[edit.language] = edit.text
    else:
        texts.pop(edit.language, None)
    after = _with_texts(content, edit.kind, edit.item, edit.field, texts)
    return lint(after, catalogues, scale)


def _with_texts(content: Content, kind: str, item: str, name: str, texts: dict) -> Content:
    """`content` with one text's languages replaced by `texts` (languages may be missing)."""
    modules = []
    for m in content.modules.values():
        activities = tuple(dataclasses.replace(a, **{name: texts})
                           if kind == "activity" and a.id == item else a for a in m.activities)
        title = texts if kind == "module" and str(m.id) == item else m.title
        modules.append(dataclasses.replace(m, title=title, activities=activities))
    tips = [dataclasses.replace(t, text=texts) if kind == "tip" and t.id == item else t
            for t in content.tips()]
    return Content(modules, tips, content.draft)


def message_problems(catalogues: Catalogues, key: str, language: str, text: str,
                     max_segments: int = MAX_SEGMENTS) -> list[str]:
    """What the lint says of one catalogue text as edited: the same placeholders as the Bangla
    text (a send fills in exactly those), Bengali digits in Bangla, GSM-7 in romanised Bangla, and
    no more SMS segments than MAX_SEGMENTS (or than the shipped text, if that was longer)."""
    where = f"{key} ({language})"
    problems = []
    if not text.strip():
        problems.append(f"{where} is empty")
    shipped = catalogues.shipped(key, language) or catalogues.shipped(key, DEFAULT_LANGUAGE) or ""
    want, got = _placeholders(shipped), _placeholders(text)
    if got is None:
        problems.append(f"{where} has a broken {{placeholder}}: use {{name}} as written")
    elif want is not None and got != want:
        named = ", ".join("{%s}" % n for n in sorted(want)) or "no {placeholder}"
        given = ", ".join("{%s}" % n for n in sorted(got)) or "none"
        problems.append(f"{where} must name exactly {named}; it names {given}")
    bad = unsendable(text)
    if bad:
        problems.append(f"{where} {bad}")
    if language == "bn" and re.search(r"[0-9]", re.sub(r"\{[^}]*\}", "", text)):
        problems.append(f"{where} has ASCII digits: use ০-৯ in Bangla")
    if language in ("en", "bn-Latn") and _not_gsm7(text):
        problems.append(f"{where} is not GSM-7, so each SMS holds 70 characters, not 160: "
                        f"{_not_gsm7(text)!r}")
    bound = max(max_segments, count(shipped).segments if shipped else 0)
    segments = count(text).segments
    if segments > bound:
        problems.append(f"{where} needs {segments} SMS segments; at most {bound}")
    return problems


def _placeholders(template: str) -> set[str] | None:
    """The {names} a template fills in; None when its braces are broken."""
    from string import Formatter

    try:
        return {name for _, name, _, _ in Formatter().parse(template) if name is not None
                and name != ""}
    except ValueError:
        return None


def record_edit(db: Session, edit: Edit, before: str | None, who: str, now) -> ContentAudit:
    """Write the edit in force and its audit row, in the caller's transaction."""
    audit = ContentAudit(kind=edit.kind, item=edit.item, field=edit.field,
                         language=edit.language, before=before, after=edit.text, who=who[:254],
                         at=now)
    db.add(audit)
    db.flush()
    row = db.execute(select(ContentEdit).where(
        ContentEdit.kind == edit.kind, ContentEdit.item == edit.item,
        ContentEdit.field == edit.field, ContentEdit.language == edit.language)
        .with_for_update()).scalar_one_or_none()
    if row is None:
        db.add(ContentEdit(kind=edit.kind, item=edit.item, field=edit.field,
                           language=edit.language, text=edit.text, audit_id=audit.id))
    else:
        row.text, row.audit_id = edit.text, audit.id
    return audit


def save_edit(db: Session, content: Content, catalogues: Catalogues, scale: Scale | None,
              edit: Edit, who: str, now) -> list[str]:
    """Lint the content as it would be after `edit`; with no problem, write it and its audit row
    (who, when, before, after) in the caller's transaction. The problems ([] when saved); a
    text that does not change is not written. KeyError for an item or field that does not exist."""
    before = texts_of(content, catalogues, edit.kind, edit.item, edit.field).get(edit.language)
    problems = check_edit(content, catalogues, scale, edit)
    if not problems and edit.text != before:
        record_edit(db, edit, before, who, now)
    return problems


def laid_over(db: Session, content: Content, catalogues: Catalogues
              ) -> tuple[Content, Catalogues]:
    """The content and catalogues as sent: the files with the console's edits laid over them."""
    _, edits = load_overrides(db)
    return (apply_overrides(content, edits),
            catalogues.overlaid({(e.item, e.language): e.text for e in edits
                                 if e.kind == "message"}))
