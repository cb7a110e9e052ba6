"""Named actions a flow can call. Each takes the context of one person's turn.

The context carries everything an action may use (the database session, the person, the run, the
time, and the catalogues, assessment levels and calendar the runtime built), so actions never
reach back into the runtime: `bot.runtime` imports this registry to check flows' action names.

An action may return a dict of run fields it worked out (a summary, this week's activity); the
messages said after it in the same turn can name them as {placeholders}, and later turns see them
in the run's fields. Returning None changes no field.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..assessment import records
from ..assessment.entry import LEARNERS
from ..assessment.levels import Scale
from ..campaigns import plans
from ..contacts import consent
from ..campaigns.calendar import Calendar
from ..campaigns.campaign import Campaign
from ..campaigns.content import Content, text_in
from ..campaigns.cycle import given_activities
from ..channels.segments import count
from ..i18n import N_, Catalogues, weekday_name
from ..store.models import OBSTACLES, Answer, Checkin, FlowRun, Person

log = logging.getLogger(__name__)


@dataclass
class Context:
    db: Session
    person: Person
    run: FlowRun | None
    now: datetime
    catalogues: Catalogues | None = None  # the text of message keys, per language
    levels: Scale | None = None  # the assessment levels (flows/assessment/levels.yaml)
    calendar: Calendar | None = None  # school days, holidays, the sending window
    content: Content | None = None  # the activities (flows/content/), for advice that names them
    campaigns: dict[str, Campaign] | None = None  # flows/campaigns.yaml, for the plan's reminder
    days: plans.DayWords | None = None  # words for days (flows/calendar/days.yaml), for the plan
    # text -> an obstacle code or None: the NLU's obstacle classifier, when there is one
    obstacle_coder: Callable[[str], str | None] | None = None


def finish_onboarding(ctx: Context) -> None:
    """The person has heard what the service sends and how to stop it. On a call (a
    headteacher's first check-in) that is their consent too, kept as a text reply's is."""
    if ctx.person.onboarded_at is None:
        ctx.person.onboarded_at = ctx.now
        if ctx.run is not None and ctx.run.session.get("channel") == "voice":
            consent.record(ctx.db, ctx.person, "voice", ctx.now)


def _scale_and_text(ctx: Context):
    language = ctx.person.language
    return ctx.levels, (
        lambda key, **params: ctx.catalogues.text(key, language, **params)), language


def assessment_menu(ctx: Context) -> dict:
    """The one-line level menu of the guided entry: "0=beginner, 1=1-9, ..."; on a call
    "0: beginner, 1: 1-9", which a voice reads as a pause, not as "equals"."""
    sc, _, language = _scale_and_text(ctx)
    sep = ": " if ctx.run is not None and ctx.run.session.get("channel") == "voice" else "="
    return {"menu": ", ".join(f"{lv.level}{sep}{lv.short.get(language, lv.short['en'])}"
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
    return {"summary": ", ".join(text(SUMMARY_ITEM, level=lv, count=counted[lv])
                                 for lv in sorted(counted)),
            "change": change, "advice": advice(ctx, records.focus(levels), a.grade),
            "assessment_id": a.id}


def advice(ctx: Context, level: int, grade: int | None) -> str:
    """The advice for a class mostly at `level`, naming the activities that suit it, the ones the
    teacher's next nudges will bring (not yet given, the grade's first): as many as keep the
    advice message within ADVICE_SEGMENTS, at most ADVICE_ITEMS, at least one."""
    _, text, language = _scale_and_text(ctx)
    key = ctx.levels.get(level).advice
    content = ctx.content
    given = given_activities(ctx.db, ctx.person.id)
    suited = [a for a in content.by_need(level, grade, given) if a.suits(level)]
    names, said = [], None
    for a in suited[:ADVICE_ITEMS]:
        item = f"{a.id} {text_in(a.title, language)}"  # digits follow the message's language
        candidate = text(key, activities=", ".join([*names, item]))
        if said is not None and count(text(ADVICE, advice=candidate)).segments > ADVICE_SEGMENTS:
            break
        names.append(item)
        said = candidate
    return said if said is not None else text(key, activities="-")


ADVICE = N_("assessment.advice")  # the flow's message that carries {advice}
ADVICE_ITEMS = 3  # activities the advice names at most
ADVICE_SEGMENTS = 2  # the advice message stays within this many SMS segments
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


YES_NO = {"yes": True, "no": False}  # how a flow's yes/no answer is stored in a check-in
CHECKIN_FIELDS = {"meeting": YES_NO.get, "practised": YES_NO.get, "walks": int,
                  "foundation_lessons": int}
"""The check-in flow's fields (flows/checkin.yaml) and how each is stored in its column."""


def save_checkin(ctx: Context) -> None:
    """Store the headteacher's answers so far in their school's check-in of the run's week
    (one row per school and week, for the officers' digests). Called after each answer, so a
    call cut off mid-way keeps what was said; a later answer that week overwrites."""
    person, fields = ctx.person, ctx.run.session["fields"]
    if person.school_id is None:
        return None
    week = fields.get("week") or ctx.calendar.week_of(ctx.now)
    found = select(Checkin).where(Checkin.school_id == person.school_id, Checkin.week == week)
    row = ctx.db.execute(found).scalar_one_or_none()
    if row is None:
        try:
            with ctx.db.begin_nested():
                row = Checkin(school_id=person.school_id, week=week, person_id=person.id,
                              channel=ctx.run.session["channel"], created_at=ctx.now,
                              updated_at=ctx.now)
                ctx.db.add(row)
        except IntegrityError:  # written at the same moment by another turn: use that one
            row = ctx.db.execute(found).scalar_one()
    row.person_id, row.channel, row.updated_at = person.id, ctx.run.session["channel"], ctx.now
    for name, stored in CHECKIN_FIELDS.items():
        if fields.get(name) not in (None, ""):
            setattr(row, name, stored(fields[name]))
    return None


ACTIONS["save_checkin"] = save_checkin


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


PLAN_REMIND = N_("plan.remind")
PLAN_VIDEO = N_("plan.video")
NEXT_DAY, AFTER_BREAK = N_("when.next_day"), N_("when.after_break")


def _answer(ctx: Context, name: str, value) -> None:
    ctx.db.add(Answer(run_id=ctx.run.id, field=name, value=str(value), created_at=ctx.now))


def save_plan(ctx: Context) -> dict:
    """The week's plan (the answer the flow saved as `plan_text`): its class and day are stored
    beside it (`plan_grade`, `plan_day`), and the reminder moves to the planned day's morning
    (bot/campaigns/plans.py). Returns {remind}: when the reminder comes, and {video}: where the
    activity's AGS video is, when the content names one."""
    fields = ctx.run.session["fields"]
    cal, language = ctx.calendar, ctx.person.language
    plan = plans.read(str(fields.get("plan_text", "")), cal.local(ctx.now).date(), ctx.levels,
                      ctx.days)
    if plan.grade is not None:
        _answer(ctx, "plan_grade", plan.grade)
    if plan.day is not None:
        _answer(ctx, "plan_day", plan.day.isoformat())
    week = fields.get("week") or cal.week_of(ctx.now)
    day = plans.remind_on(ctx.db, ctx.campaigns or {}, cal, ctx.person, week, plan.day, ctx.now)
    text = ctx.catalogues.text
    video = None
    if fields.get("activity") and ctx.content is not None:
        try:
            video = ctx.content.activity(fields["activity"]).video
        except KeyError:
            video = None
    parts = [text(PLAN_REMIND, language, day=weekday_name(day, language)) if day else "",
             text(PLAN_VIDEO, language, video=video) if video else ""]
    remind, video_note = [p for p in parts if p] + [""] * parts.count("")  # no double space
    return {"remind": remind, "video": video_note}


def code_obstacle(ctx: Context) -> dict | None:
    """A free-text answer to the obstacle question stays as `obstacle_text`; it is coded
    (`obstacle`, one of store.models.OBSTACLES) only when the obstacle classifier is sure. The
    classifier is `ctx.obstacle_coder` (the hook in bot/msgs/turn.py); without one, or when it
    is unsure or fails, the answer stays uncoded and officers' counts leave it out."""
    text = ctx.run.session["fields"].get("obstacle_text")
    if not text or ctx.obstacle_coder is None:
        return None
    try:
        code = ctx.obstacle_coder(str(text))
    except Exception:  # a classifier that fails codes nothing; the text is kept all the same
        log.exception("the obstacle classifier failed; the answer stays uncoded")
        return None
    if code not in OBSTACLES:
        return None
    _answer(ctx, "obstacle", code)
    return {"obstacle": code}


def next_week(ctx: Context) -> dict:
    """{next}: when the next week's activity comes, for the reflection's thanks: the next
    school week's first school day ("রবিবার", or "সোমবার" when Sunday is a holiday), or "after
    the holidays" when the next week has no school day."""
    cal, language = ctx.calendar, ctx.person.language
    days = cal.week_days(cal.next_week(cal.week_of(ctx.now)))
    text = ctx.catalogues.text
    if days:
        return {"next": text(NEXT_DAY, language, day=weekday_name(days[0], language))}
    return {"next": text(AFTER_BREAK, language)}


ACTIONS["save_plan"] = save_plan
ACTIONS["code_obstacle"] = code_obstacle
ACTIONS["next_week"] = next_week
