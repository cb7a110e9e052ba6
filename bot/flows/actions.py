"""Named actions a flow can call. Each takes the context of one person's turn.

The context carries everything an action may use (the database session, the person, the run, the
time, and the catalogues, assessment levels and calendar the runtime built), so actions never
reach back into the runtime: `bot.runtime` imports this registry to check flows' action names.

An action may return a dict of run fields it worked out (a summary, this week's activity); the
messages said after it in the same turn can name them as {placeholders}, and later turns see them
in the run's fields. Returning None changes no field.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session

from ..assessment import records
from ..assessment.entry import LEARNERS
from ..assessment.levels import Scale
from ..campaigns.calendar import Calendar
from ..i18n import N_, Catalogues, weekday_name
from ..store.models import FlowRun, Person


@dataclass
class Context:
    db: Session
    person: Person
    run: FlowRun | None
    now: datetime
    catalogues: Catalogues | None = None  # the text of message keys, per language
    levels: Scale | None = None  # the assessment levels (flows/assessment/levels.yaml)
    calendar: Calendar | None = None  # school days, holidays, the sending window
    campaigns: dict | None = None  # flows/campaigns.yaml, by id


def finish_onboarding(ctx: Context) -> None:
    """The person has heard what the service sends and how to stop it."""
    if ctx.person.onboarded_at is None:
        ctx.person.onboarded_at = ctx.now


def _scale_and_text(ctx: Context):
    language = ctx.person.language
    return ctx.levels, (
        lambda key, **params: ctx.catalogues.text(key, language, **params)), language


def assessment_menu(ctx: Context) -> dict:
    """The one-line level menu of the guided entry: "0=beginner, 1=1-9, ..."."""
    sc, _, language = _scale_and_text(ctx)
    return {"menu": ", ".join(f"{lv.level}={lv.short.get(language, lv.short['en'])}"
                              for lv in sc.levels),
            "top": max(sc.numbers_allowed)}  # "0 to {top}" in the guided hints


def assessment_read_back(ctx: Context) -> dict:
    """The levels entered, read back before anything is saved: "1: 2 (10-99), 2: 3 (adds)..."."""
    sc, text, language = _scale_and_text(ctx)
    fields = ctx.run.session["fields"]
    levels = [fields[f"l{i}"] for i in range(1, LEARNERS + 1)]
    grade = fields.get("grade")
    return {"read_back": ", ".join(f"{i}: {v} ({sc.text(v, 'short', language)})"
                                   for i, v in enumerate(levels, 1)),
            "grade_note": text(GRADE_NOTE, grade=grade) if grade is not None else ""}


def save_assessment(ctx: Context) -> dict:
    """Store the confirmed levels; work out the summary, the advice and the change since the
    teacher's last assessment, for the messages after it."""
    sc, text, language = _scale_and_text(ctx)
    fields = ctx.run.session["fields"]
    levels = [fields.get(f"l{i}") for i in range(1, LEARNERS + 1)]
    if any(sc.get(v) is None for v in levels):  # never a half or wrong record
        raise ValueError(f"run {ctx.run.id} has no complete set of levels: {levels}")
    a = records.save(ctx.db, ctx.person, levels, fields.get("grade"),
                     ctx.run.session["channel"], ctx.now)
    counted = records.counts(levels)
    before = records.previous(ctx.db, a)
    if before is None:
        change = text(CHANGE_FIRST)
    else:
        c = records.change(records.levels_of(before), levels)
        parts = [text(key, count=n) for key, n in
                 ((CHANGE_UP, c.up), (CHANGE_SAME, c.same), (CHANGE_DOWN, c.down)) if n]
        change = text(CHANGE_SINCE, changes=", ".join(parts))
    top = records.focus(levels)
    return {"summary": ", ".join(text(SUMMARY_ITEM, level=lv, count=counted[lv])
                                 for lv in sorted(counted)),
            "change": change, "advice": text(sc.get(top).advice), "assessment_id": a.id}


GRADE_NOTE = N_("assessment.grade_note")
SUMMARY_ITEM = N_("assessment.summary_item")
CHANGE_FIRST = N_("assessment.change_first")
CHANGE_SINCE = N_("assessment.change_since")
CHANGE_UP = N_("assessment.change_up")
CHANGE_SAME = N_("assessment.change_same")
CHANGE_DOWN = N_("assessment.change_down")

ACTIONS: dict[str, Callable[..., dict | None]] = {
    "finish_onboarding": finish_onboarding,
    "assessment_menu": assessment_menu,
    "assessment_read_back": assessment_read_back,
    "save_assessment": save_assessment,
}


SNOOZE = timedelta(hours=3)  # "later" asks again about this much later, inside the sending window
HOUR_KEYS = ((12, N_("time.morning")), (15, N_("time.midday")), (18, N_("time.afternoon")),
             (24, N_("time.evening")))  # (before this hour, how the hour is said)
WHEN_TODAY, WHEN_TOMORROW, WHEN_DAY = N_("when.today"), N_("when.tomorrow"), N_("when.day")


def snooze(ctx: Context) -> dict:
    """'Later': ask again SNOOZE from now, on the hour, inside the sending window of a school
    day. Returns {snooze_at} for the flow's wait and {when} ("today at 6 pm") for its reply."""
    cal = ctx.calendar
    target = ctx.now + SNOOZE
    if target.minute or target.second or target.microsecond:
        target = target.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    at = cal.next_open(target)
    local = cal.local(at)
    language = ctx.person.language
    text = ctx.catalogues.text
    hour_key = next(key for limit, key in HOUR_KEYS if local.hour < limit)
    time_ = text(hour_key, language, hour=local.hour % 12 or 12)
    days = (local.date() - cal.local(ctx.now).date()).days
    if days in (0, 1):
        when = text(WHEN_TOMORROW if days else WHEN_TODAY, language, time=time_)
    else:
        when = text(WHEN_DAY, language, time=time_, day=weekday_name(local.date(), language))
    return {"snooze_at": at.isoformat(), "when": when}


ACTIONS["snooze"] = snooze
