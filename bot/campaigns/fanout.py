"""Weekly campaigns: the nudge, the mid-week reminder and the reflection prompt.

Planned from the database, so a restart or a flushed Redis loses nothing:

    plan      one `campaign_run` row per (campaign, week, teacher), inserted if missing, each
              with a time spread over the sending window of the campaign's day (no burst);
    dispatch  (cron, every DISPATCH_EVERY s) claims the rows that are due, planned -> queued,
              and enqueues `deliver` jobs of up to BATCH rows;
    deliver   under each teacher's turn lock takes its row queued -> sent (or skipped, with
              why), starts the campaign's flow and queues its messages for the outbox.

Running a campaign twice, or on two workers at once, sends each message once: the unique key
makes the second plan insert nothing, and only one claim of a row can succeed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterator

from rq import Queue
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from .. import runtime
from ..msgs import outbox, session
from ..msgs.turn import Turn
from ..store.models import Answer, CampaignRun, Cycle, FlowRun, Message, Person
from .calendar import Calendar
from .content import activity_fields

log = logging.getLogger(__name__)

BATCH = 200  # campaign rows one `deliver` job works through
CLAIM = 5_000  # rows claimed in one transaction by `dispatch`, then split into BATCH jobs
PLAN_CHUNK = 5_000  # teachers read and inserted per round trip while planning
DISPATCH_EVERY = 30  # seconds between looks for due campaign rows (cron)
PLAN_EVERY = 300  # seconds between checks that this week's campaigns are planned (cron)
BUSY_DELAY = timedelta(minutes=10)  # a teacher mid-conversation gets the campaign this much later
ENCOURAGE_AFTER = 3  # weeks running not tried (or unanswered) before the encouraging nudge
TRIED = ("yes", "partly")  # reflection answers that count as having tried the activity


@dataclass(frozen=True)
class Campaign:
    name: str
    flow: str  # the flow in flows/ that says it
    at: time  # local time the fan-out starts on its day; it runs to the window's end
    what: str  # for `sathi campaign list`

    def day(self, days: list[date]) -> date | None:
        """The campaign's day among a week's school days (holidays already left out)."""
        if not days:
            return None
        if self.name == "nudge":
            return days[0]
        if self.name == "reflection":
            return days[-1] if len(days) > 1 else None
        # reminder: Tuesday, or the first school day after it, strictly between the two others
        middle = [d for d in days[1:-1] if d.weekday() in (1, 2, 3)]
        return middle[0] if middle else None


CAMPAIGNS: dict[str, Campaign] = {c.name: c for c in (
    Campaign("nudge", "weekly_nudge", time(9, 0),
             "first school day of the week: this week's activity, to read and plan"),
    Campaign("reminder", "weekly_reminder", time(9, 0),
             "Tuesday (or the next school day before the reflection): try it in class"),
    Campaign("reflection", "reflection", time(14, 0),
             "last school day of the week: did you try it, what did learners learn"),
)}


def when(cal: Calendar, campaign: Campaign, week: str) -> tuple[datetime, datetime] | None:
    """(start, end) of a campaign's fan-out in a week, or None when the week has no day for it."""
    day = campaign.day(cal.week_days(week))
    if day is None:
        return None
    return max(cal.at(day, campaign.at), cal.window(day)[0]), cal.window(day)[1]


def next_runs(cal: Calendar, now: datetime, weeks: int = 6) -> dict[str, datetime | None]:
    """Each campaign's next fan-out start at or after `now`."""
    found: dict[str, datetime | None] = {name: None for name in CAMPAIGNS}
    week = cal.week_of(now)
    for i in range(weeks):
        w = cal.next_week(week, i)
        for name, c in CAMPAIGNS.items():
            span = when(cal, c, w)
            if found[name] is None and span and span[1] > now:
                found[name] = max(span[0], now)
    return found


@dataclass
class PlanReport:
    week: str
    campaign: str
    planned: int = 0  # rows inserted now
    already: int = 0  # teachers who had a row for this campaign and week
    start: datetime | None = None
    end: datetime | None = None


ELIGIBLE = (Person.role == "teacher", Person.opted_out_at.is_(None),
            Person.onboarded_at.is_not(None))
"""Who gets the weekly cycle: teachers who finished onboarding and have not opted out."""


def plan(rt: runtime.Runtime, name: str, week: str, now: datetime | None = None,
         immediately: bool = False, progress: Callable[[int], None] | None = None) -> PlanReport:
    """Insert the missing rows of a campaign for a week. `immediately` plans every row for now
    (an operator's `--now`); otherwise rows are spread from the campaign's start (or now, if
    later) to the end of that day's sending window. Nothing is planned for a week that is over."""
    cal, now = rt.calendar, now or rt.now()
    campaign = CAMPAIGNS[name]
    report = PlanReport(week=week, campaign=name)
    if immediately:
        start = end = now
    else:
        span = when(cal, campaign, week)
        if span is None or span[1] <= now:
            return report
        start, end = max(span[0], now), span[1]
    report.start, report.end = start, end
    with rt.db.session() as db:
        have = select(CampaignRun.person_id).where(CampaignRun.campaign == name,
                                                   CampaignRun.week == week)
        report.already = db.execute(select(func.count()).select_from(have.subquery())).scalar()
        total = db.execute(select(func.count(Person.id)).where(*ELIGIBLE)).scalar()
    if total == 0:
        return report
    step = (end - start) / total
    index = 0
    for ids in _eligible_ids(rt):
        rows = [dict(campaign=name, week=week, person_id=pid, status="planned",
                     planned_at=start + step * (index + i)) for i, pid in enumerate(ids)]
        index += len(ids)
        with rt.db.session() as db:
            report.planned += _insert_missing(db, rows)
        if progress:
            progress(len(ids))
    return report


def _eligible_ids(rt: runtime.Runtime) -> Iterator[list[int]]:
    """Eligible teachers' ids in order, PLAN_CHUNK at a time (keyset paging: flat memory)."""
    last = 0
    while True:
        with rt.db.session() as db:
            ids = db.execute(select(Person.id).where(*ELIGIBLE, Person.id > last)
                             .order_by(Person.id).limit(PLAN_CHUNK)).scalars().all()
        if not ids:
            return
        yield ids
        last = ids[-1]


def _insert_missing(db: Session, rows: list[dict]) -> int:
    """Insert the rows whose (campaign, week, person) is not there yet; returns how many."""
    if db.bind.dialect.name == "postgresql":
        # two arrays in one small statement: a few ms for 5,000 rows, where 5,000 VALUES
        # tuples spend most of their time being built and parsed
        first = rows[0]
        stmt = text("""
            INSERT INTO campaign_run (campaign, week, person_id, status, planned_at)
            SELECT :campaign, :week, p, :status, t
            FROM unnest(CAST(:people AS integer[]), CAST(:times AS timestamptz[])) AS u(p, t)
            ON CONFLICT (campaign, week, person_id) DO NOTHING RETURNING id""")
        return len(db.execute(stmt, {
            "campaign": first["campaign"], "week": first["week"], "status": first["status"],
            "people": [r["person_id"] for r in rows],
            "times": [r["planned_at"] for r in rows]}).all())
    stmt = sqlite.insert(CampaignRun).on_conflict_do_nothing(
        index_elements=["campaign", "week", "person_id"]).returning(CampaignRun.id)
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues");
    # rowcount is -1 for these on some drivers, so the inserted rows are counted from RETURNING
    return len(db.execute(stmt, rows).all())


def dispatch(rt: runtime.Runtime | None = None, now: datetime | None = None,
             force: bool = False, limit: int = 50_000,
             hand_over: Callable[[list[int]], None] | None = None) -> int:
    """Claim due rows (planned -> queued) and enqueue `deliver` jobs; returns rows claimed.

    Outside the sending window nothing goes (unless `force`: an operator's `--now`). Rows of a
    week that has ended are skipped: last week's nudge is no use on Sunday. `hand_over` takes
    each claimed batch instead of the queue (the CLI delivers in its own process).
    """
    rt = rt or runtime.current()
    now = now or rt.now()
    cal = rt.calendar
    if not force and not cal.in_window(now):
        return 0
    if not force:
        with rt.db.session() as db:
            db.execute(update(CampaignRun).where(CampaignRun.status == "planned",
                                                 CampaignRun.week < cal.week_of(now))
                       .values(status="skipped", note="week_over", done_at=now))
    claimed = 0
    q = rt.queue("default")
    while claimed < limit:
        with rt.db.session() as db:
            due = (select(CampaignRun.id).where(CampaignRun.status == "planned",
                                                CampaignRun.planned_at <= now)
                   .order_by(CampaignRun.planned_at, CampaignRun.id)
                   .limit(min(CLAIM, limit - claimed)).with_for_update(skip_locked=True))
            ids = db.execute(update(CampaignRun).where(CampaignRun.id.in_(due.scalar_subquery()),
                                                       CampaignRun.status == "planned")
                             .values(status="queued").returning(CampaignRun.id)).scalars().all()
        if not ids:
            break
        ids = sorted(ids)
        batches = [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]
        if hand_over is not None:
            for batch in batches:
                hand_over(batch)
        else:
            q.enqueue_many([Queue.prepare_data(deliver, (batch,), job_id=f"campaign-{batch[0]}",
                                               retry=session.BUSY_RETRY) for batch in batches])
        claimed += len(ids)
    return claimed


def deliver(run_ids: list[int]) -> dict[str, int]:
    """RQ job: send each queued campaign row, one teacher at a time under their turn lock."""
    rt = runtime.current()
    counts: dict[str, int] = {}
    with rt.db.session() as db:
        people = dict(db.execute(select(CampaignRun.id, CampaignRun.person_id)
                                 .where(CampaignRun.id.in_(run_ids))).all())
    for run_id in run_ids:
        try:
            with session.locked(rt.redis, people[run_id]):
                outcome, queued = _deliver_one(rt, run_id)
        except session.Busy:  # someone else holds the turn: try this one again shortly
            with rt.db.session() as db:
                db.execute(update(CampaignRun).where(CampaignRun.id == run_id,
                                                     CampaignRun.status == "queued")
                           .values(status="planned", planned_at=rt.now() + BUSY_DELAY))
            outcome, queued = "deferred", []
        outbox.enqueue(queued)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _deliver_one(rt: runtime.Runtime, run_id: int) -> tuple[str, list[int]]:
    now = rt.now()
    with rt.db.session() as db:
        row = db.execute(select(CampaignRun).where(CampaignRun.id == run_id,
                                                   CampaignRun.status == "queued")
                         .with_for_update()).scalar_one_or_none()
        if row is None:  # a duplicate job: the first one had it
            return "duplicate", []
        person = db.get(Person, row.person_id)
        if person.opted_out or person.role != "teacher":
            return _skip(row, "opted_out" if person.opted_out else "not_teacher", now), []
        if _mid_conversation(db, person.id, now):
            row.status, row.planned_at = "planned", now + BUSY_DELAY
            return "deferred", []
        if row.campaign == "nudge":
            activity, variant = _next_activity(rt, db, person, now)
        else:
            nudge = db.execute(select(CampaignRun).where(
                CampaignRun.campaign == "nudge", CampaignRun.week == row.week,
                CampaignRun.person_id == person.id, CampaignRun.activity.is_not(None))
            ).scalar_one_or_none()
            if nudge is None:  # joined mid-week: their cycle starts with next week's nudge
                return _skip(row, "no_nudge", now), []
            activity, variant = rt.content.activity(nudge.activity), nudge.variant
        fields = {**activity_fields(activity, person.language), "activity": activity.id,
                  "variant": variant, "week": row.week}
        turn = Turn(db, None, now, person=person,
                    channel=person.channel if person.channel in ("sms", "whatsapp") else "sms")
        run = turn.start_flow(CAMPAIGNS[row.campaign].flow, fields)
        row.status, row.done_at, row.flow_run_id = "sent", now, run.id
        row.activity, row.variant = activity.id, variant
        return "sent", [m.id for m in turn.replies]


def _skip(row: CampaignRun, why: str, now: datetime) -> str:
    row.status, row.note, row.done_at = "skipped", why, now
    return "skipped"


def _mid_conversation(db: Session, person_id: int, now: datetime) -> bool:
    """True when the teacher wrote to us moments ago and a flow is waiting on their answer."""
    recent = db.execute(select(Message.id).where(
        Message.person_id == person_id, Message.direction == "in",
        Message.created_at > now - BUSY_DELAY).limit(1)).first()
    if recent is None:
        return False
    run = session.active_run(db, person_id)
    return run is not None and run.session.get("status") == "waiting"


def _next_activity(rt: runtime.Runtime, db: Session, person: Person, now: datetime):
    """Settle last week's reflection, then pick this week's activity and how to say it."""
    cycle = db.get(Cycle, person.id)
    if cycle is None:
        cycle = Cycle(person_id=person.id, position=0, missed=0, updated_at=now)
        db.add(cycle)
    for reflection in db.execute(select(CampaignRun).where(
            CampaignRun.person_id == person.id, CampaignRun.campaign == "reflection",
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
    activities = rt.content.activities
    activity = activities[cycle.position % len(activities)]
    variant = ("encourage" if cycle.missed >= ENCOURAGE_AFTER
               else "after_skip" if cycle.missed >= 1 else "normal")
    cycle.position += 1
    cycle.updated_at = now
    return activity, variant


def plan_due() -> int:
    """RQ cron job: plan this week's campaigns whose day has come (cheap when already planned:
    one indexed count; inserting what is missing also picks up teachers who joined since)."""
    rt = runtime.current()
    now = rt.now()
    week = rt.calendar.week_of(now)
    total = 0
    for name, c in CAMPAIGNS.items():
        span = when(rt.calendar, c, week)
        if span is None or not (span[0] - timedelta(hours=1) <= now < span[1]):
            continue
        total += plan(rt, name, week, now).planned
    return total


def status(rt: runtime.Runtime, week: str) -> dict[str, dict[str, int]]:
    """{campaign: {status: rows}} for a week."""
    with rt.db.session() as db:
        rows = db.execute(select(CampaignRun.campaign, CampaignRun.status, func.count())
                          .where(CampaignRun.week == week)
                          .group_by(CampaignRun.campaign, CampaignRun.status)).all()
    out: dict[str, dict[str, int]] = {name: {} for name in CAMPAIGNS}
    for name, st, n in rows:
        out.setdefault(name, {})[st] = n
    return out
