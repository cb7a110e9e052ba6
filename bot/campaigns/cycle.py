"""The weekly cycle's preparations: what a campaign's flow needs to know before it starts.

A campaign in flows/campaigns.yaml may name one (`prepare:`); like a flow's actions, they are a
small registry of named functions (the runtime adds the digests' to these: bot/runtime.py).
Each gets a `Preparing` and returns the flow's fields, or raises `Skip` with the reason the row
is skipped.

    next_activity  settle the teacher's last reflection (the campaign named by `settles`): its
                   'tried' answer decides the welcome-back variant, and an open one is closed;
                   then pick the next activity. Where a teacher is lives in the `cycle` table.
    week_activity  the activity the teacher was given this week (a nudge); none: skipped,
                   because a teacher who joined mid-week starts with next week's nudge.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..assessment.levels import Scale
from ..i18n import Catalogues
from ..msgs import session
from ..store.models import Answer, CampaignRun, Cycle, FlowRun, Person
from .calendar import Calendar
from .campaign import Campaign
from .content import Content, activity_fields

ENCOURAGE_AFTER = 3  # weeks running not tried (or unanswered) before the encouraging nudge
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
    catalogues: Catalogues | None = None  # the text of message keys (a digest is written here)
    calendar: Calendar | None = None  # school days and weeks
    levels: Scale | None = None  # the assessment levels
    campaigns: dict | None = None  # every campaign, by id (the digests find the reflection's)


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


PREPARATIONS: dict[str, Callable[[Preparing], dict]] = {
    "next_activity": next_activity,
    "week_activity": week_activity,
}
