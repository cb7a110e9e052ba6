"""The weekly cycle's preparations: what a campaign's flow needs to know before it starts.

A campaign in flows/campaigns.yaml may name one (`prepare:`); like a flow's actions, they are a
small registry of named functions. Each gets a `Preparing` and returns the flow's fields, or
raises `Skip` with the reason the row is skipped.

    next_activity  settle the teacher's last reflection (the campaign named by `settles`): its
                   'tried' answer decides the welcome-back variant, and an open one is closed;
                   then pick the next activity. Where a teacher is lives in the `cycle` table.
    week_activity  the activity the teacher was given this week (a nudge); none: skipped,
                   because a teacher who joined mid-week starts with next week's nudge.
    school_week    the headteacher's check-in: this week in their school (digests/figures.py,
                   the one place it is counted), their teachers' questions (at most
                   MAX_QUESTIONS, marked forwarded; the rest wait for next week) and this
                   week's leadership tip, the themes taking turns week by week.

For a person on voice the preparation runs when the call is answered (ivr/), not when the
campaign row is delivered: the figures are fresh, and nothing is used up by an unheard call.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from babel.lists import format_list
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..digests import figures
from ..i18n import babel_locale
from ..msgs import questions, session
from ..store.models import Answer, CampaignRun, Cycle, FlowRun, Person
from .calendar import parse_week
from .campaign import EPOCH_WEEK, Campaign
from .content import Content, Tip, activity_fields, text_in

ENCOURAGE_AFTER = 3  # weeks running not tried (or unanswered) before the encouraging nudge
MAX_QUESTIONS = 3  # teachers' questions read out in one check-in; the rest wait a week
TRIED = ("yes", "partly")  # reflection answers that count as having tried the activity


class Skip(Exception):
    """This row is not sent; str() is the note kept on it (e.g. 'no_nudge')."""


@dataclass
class Preparing:
    db: Session
    person: Person
    row: CampaignRun
    campaign: Campaign
    content: Content
    now: datetime


def next_activity(p: Preparing) -> dict:
    """Settle the last reflection, then pick this week's activity and how to say it."""
    db, person, now = p.db, p.person, p.now
    cycle = db.get(Cycle, person.id)
    if cycle is None:
        cycle = Cycle(person_id=person.id, position=0, missed=0, updated_at=now)
        db.add(cycle)
    for reflection in db.execute(select(CampaignRun).where(
            CampaignRun.person_id == person.id, CampaignRun.campaign == p.campaign.settles,
            CampaignRun.status == "sent")).scalars():
        tried = db.execute(select(Answer.value).where(
            Answer.run_id == reflection.flow_run_id, Answer.field == "tried")
            .order_by(Answer.id.desc()).limit(1)).scalar()
        cycle.missed = 0 if tried in TRIED else cycle.missed + 1
        flow_run = db.get(FlowRun, reflection.flow_run_id)
        if flow_run is not None and flow_run.status == session.ACTIVE:
            # no answer by the next nudge closes the reflection
            session.end(flow_run, "unanswered" if tried is None else "expired", now)
        reflection.status = "closed"
    activities = p.content.activities
    activity = activities[cycle.position % len(activities)]
    variant = ("encourage" if cycle.missed >= ENCOURAGE_AFTER
               else "after_skip" if cycle.missed >= 1 else "normal")
    cycle.position += 1
    cycle.updated_at = now
    return {**activity_fields(activity, person.language), "activity": activity.id,
            "variant": variant}


def week_activity(p: Preparing) -> dict:
    """This week's activity, as the teacher's nudge gave it."""
    given = p.db.execute(select(CampaignRun).where(
        CampaignRun.week == p.row.week, CampaignRun.person_id == p.person.id,
        CampaignRun.activity.is_not(None)).order_by(CampaignRun.id).limit(1)).scalar()
    if given is None:  # joined mid-week: their cycle starts with next week's nudge
        raise Skip("no_nudge")
    activity = p.content.activity(given.activity)
    return {**activity_fields(activity, p.person.language), "activity": activity.id,
            "variant": given.variant}


def _monday(week: str) -> date:
    year, num = parse_week(week)
    return date.fromisocalendar(year, num, 1)


def week_tip(content: Content, week: str) -> Tip:
    """The leadership tip of a school week: the themes of leadership.yaml take turns, one a
    week, and each theme's tips in turn, so every headteacher hears the same tip that week."""
    tips = content.tips()
    themes = list(dict.fromkeys(t.theme for t in tips))
    n = (_monday(week) - _monday(EPOCH_WEEK)) // timedelta(weeks=1)
    in_theme = content.tips(themes[n % len(themes)])
    return in_theme[(n // len(themes)) % len(in_theme)]


def _names(names, language: str) -> str:
    return format_list(list(names), locale=babel_locale(language)) if names else ""


def school_week(p: Preparing) -> dict:
    """This week in the headteacher's school, their teachers' questions and a tip."""
    person, db = p.person, p.db
    if person.school_id is None:
        raise Skip("no_school")
    w = figures.school_week(db, person.school_id, p.row.week)
    asked = questions.unforwarded(db, person.school_id)[:MAX_QUESTIONS]
    questions.mark_forwarded(db, asked, p.now)
    askers = {q.person_id: db.get(Person, q.person_id).name for q in asked}
    tip = week_tip(p.content, p.row.week)
    language = person.language
    return {
        "teachers": w.teachers, "active": w.active, "answered": w.answered,
        "tried": len(w.tried), "tried_names": _names(w.tried, language),
        "any_answered": w.answered > 0, "any_tried": bool(w.tried),
        "obstacle": w.top_obstacle or "none",
        "sharers": _names(w.sharers, language), "any_sharers": bool(w.sharers),
        "questions": " ".join(f"{askers[q.person_id]}: {q.text.strip().rstrip('।.?!')}।"
                              for q in asked),
        "any_questions": bool(asked),
        "tip": text_in(tip.text, language), "tip_id": tip.id,
    }


PREPARATIONS: dict[str, Callable[[Preparing], dict]] = {
    "next_activity": next_activity,
    "week_activity": week_activity,
    "school_week": school_week,
}
