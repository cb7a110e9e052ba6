"""The fan-out of a campaign (campaign.py, flows/campaigns.yaml) to its audience.

Planned from the database, so a restart or a flushed Redis loses nothing:

    plan      one `campaign_run` row per (campaign, period, person), inserted if missing, each
              with a time spread from the campaign's start to the end of its day's sending
              window (or over its `spread`), so there is no burst;
    dispatch  (cron, every DISPATCH_EVERY s) claims the rows that are due (due.py: their
              `campaign_due` rows are deleted, a `campaign_claim` kept for each batch) and
              enqueues `deliver` jobs of up to BATCH rows;
    deliver   under each person's turn lock takes its claimed row -> sent (or skipped, with
              why), runs the campaign's preparation, starts its flow and queues its messages;
              for a person on voice, -> calling: it owes them a call that runs the flow
              (bot/msgs/calls.py), which ivr/ places and, once answered, prepares and starts.

Running a campaign twice, or on two workers at once, sends each message once: the unique key
makes the second plan insert nothing, and only one claim of a row can succeed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterator

from rq import Queue
from sqlalchemy import Interval, and_, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import runtime
from ..msgs import outbox, session
from ..msgs.calls import CAMPAIGN, queue_call
from ..msgs.turn import Turn
from ..store.models import CampaignDue, CampaignRun, Message, Person, UTCDateTime
from . import due
from .calendar import Calendar
from .campaign import Campaign
from .cycle import Preparing, Skip

log = logging.getLogger(__name__)

BATCH = 200  # campaign rows one `deliver` job works through
CLAIM = 5_000  # rows claimed in one transaction by `dispatch`, then split into BATCH jobs
PLAN_CHUNK = 50_000  # people planned per statement on PostgreSQL (no row passes through Python)
PLAN_ROWS = 5_000  # at most this many per round trip where rows are built in Python (SQLite)
ANALYZE_AFTER = 10_000  # PostgreSQL: a plan that inserted this many rows refreshes the statistics
# (of campaign_due, which dispatch's claims read: campaign_run is read by primary key and by
# its unique key, whose estimates a new week's rows hardly move)
DISPATCH_EVERY = 30  # seconds between looks for due campaign rows (cron)
PLAN_EVERY = 300  # seconds between checks that this week's campaigns are planned (cron)
PLAN_AHEAD = timedelta(hours=1)  # cron plans a campaign this long before its start
BUSY_DELAY = timedelta(minutes=10)  # someone mid-conversation gets the campaign this much later
WEEK_OVER = "week_over"  # the note on a row whose period ended before it was sent
LOST_AFTER = timedelta(minutes=30)  # a claimed row not delivered by then lost its job
HAD = ("planned", "queued", "sent")  # a once-only campaign's rows that count as had (or coming)


def when(cal: Calendar, campaign: Campaign, week: str) -> tuple[datetime, datetime] | None:
    """(start, end) of a campaign's fan-out for a school week, or None when it has no day."""
    return campaign.span(cal, campaign.period_for_week(cal, week))


@dataclass
class PlanReport:
    week: str
    campaign: str
    planned: int = 0  # rows inserted now
    already: int = 0  # people who had a row for this campaign and period
    start: datetime | None = None
    end: datetime | None = None


def plan(rt: runtime.Runtime, name: str, week: str, now: datetime | None = None,
         immediately: bool = False, progress: Callable[[int], None] | None = None) -> PlanReport:
    """Insert the missing rows of a campaign for the period of a school week. `immediately`
    plans every row for now (an operator's `--now`); otherwise rows are spread from the
    campaign's start (or now, if later) to the end of its span. Nothing is planned for a
    period that is over, or for a week the campaign skips."""
    cal, now = rt.calendar, now or rt.now()
    campaign = rt.campaigns[name]
    period = campaign.period_for_week(cal, week)
    report = PlanReport(week=period or week, campaign=name)
    if period is None or campaign.is_over(cal, period, now):
        return report
    if immediately:
        start = end = now
    else:
        span = campaign.span(cal, period)
        if span is None or now >= campaign.plannable_until(cal, span):
            return report
        start = max(span[0], now)
        end = max(span[1], start)
    report.start, report.end = start, end
    eligible = _eligible(campaign, period)
    with rt.db.session() as db:
        have = select(CampaignRun.person_id).where(CampaignRun.campaign == name,
                                                   CampaignRun.week == period)
        report.already = db.execute(select(func.count()).select_from(have.subquery())).scalar()
        total = db.execute(select(func.count(Person.id)).where(*eligible)).scalar()
    if total == 0:
        return report
    step = (end - start) / total
    if rt.db.engine.dialect.name == "postgresql":
        _plan_in_database(rt, campaign, period, start, step, report, progress)
        if report.planned >= ANALYZE_AFTER:
            # the planner learns that these rows are there: with statistics from before them
            # (or none, on a new table) it expects few due rows, and sorts every due row on
            # each of dispatch's claims instead of reading the first ones from the due index
            with rt.db.session() as db:
                db.execute(text("ANALYZE campaign_due"))
        return report
    index = 0
    for ids in _eligible_ids(rt, campaign, period):
        rows = [dict(campaign=name, week=period, person_id=pid, status="planned",
                     planned_at=start + step * (index + i)) for i, pid in enumerate(ids)]
        index += len(ids)
        with rt.db.session() as db:
            report.planned += _insert_missing(db, rows, name, period)
        if progress:
            progress(len(ids))
    return report


def _plan_in_database(rt: runtime.Runtime, campaign: Campaign, period: str, start: datetime,
                      step: timedelta, report: PlanReport,
                      progress: Callable[[int], None] | None) -> None:
    """PostgreSQL: each page of PLAN_CHUNK eligible people is planned by one set-based
    statement, where no row passes through Python: a CTE pages the people (keyset, as
    `_eligible_ids`), an INSERT .. SELECT .. ON CONFLICT DO NOTHING writes their rows, each
    `planned_at` worked out from the person's place in the audience, a second INSERT makes the
    rows it inserted due (due.py), and the statement answers how many people the page held,
    the last one's id and how many rows it inserted."""
    last, index = 0, 0
    while True:
        page = (select(Person.id.label("pid"),
                       func.row_number().over(order_by=Person.id).label("rn"))
                .where(*_eligible(campaign, period, last), Person.id > last)
                .order_by(Person.id).limit(PLAN_CHUNK).cte("page"))
        planned_at = (literal(start, UTCDateTime())
                      + (page.c.rn + (index - 1)) * literal(step, Interval()))
        inserted = (postgresql.insert(CampaignRun)
                    .from_select(["campaign", "week", "person_id", "status", "planned_at"],
                                 select(literal(campaign.id), literal(period), page.c.pid,
                                        literal("planned"), planned_at))
                    .on_conflict_do_nothing(index_elements=["campaign", "week", "person_id"])
                    .returning(CampaignRun.id, CampaignRun.planned_at).cte("inserted"))
        made_due = (postgresql.insert(CampaignDue)
                    .from_select(["run_id", "campaign", "week", "planned_at"],
                                 select(inserted.c.id, literal(campaign.id), literal(period),
                                        inserted.c.planned_at))
                    .returning(CampaignDue.run_id).cte("made_due"))
        with rt.db.session() as db:
            people, last_id, new = db.execute(select(
                select(func.count()).select_from(page).scalar_subquery(),
                select(func.max(page.c.pid)).scalar_subquery(),
                select(func.count()).select_from(made_due).scalar_subquery())).one()
        if not people:
            return
        report.planned += new
        index += people
        last = last_id
        if progress:
            progress(people)


def _eligible(campaign: Campaign, period: str, after: int = 0) -> tuple:
    """Who a campaign plans for: its audience; for a once-only campaign, those who have not had
    it (a skipped row does not count: they opted out then, or its week ended unsent). `after`:
    a page's first person id bounds the filters on other tables too (Audience.conditions)."""
    found = campaign.audience.conditions(period, after)
    if campaign.cadence == "once":
        had = select(CampaignRun.id).where(
            CampaignRun.campaign == campaign.id, CampaignRun.person_id == Person.id,
            CampaignRun.person_id > after, CampaignRun.status.in_(HAD))
        found += (~had.exists(),)
    return found


def _eligible_ids(rt: runtime.Runtime, campaign: Campaign,
                  period: str) -> Iterator[list[int]]:
    """Eligible people's ids in order, PLAN_CHUNK (at most PLAN_ROWS) at a time (keyset paging:
    flat memory, and each page's filters start at its first person, so a page costs what the
    first does)."""
    last = 0
    while True:
        with rt.db.session() as db:
            ids = db.execute(select(Person.id).where(*_eligible(campaign, period, last),
                                                     Person.id > last)
                             .order_by(Person.id).limit(min(PLAN_CHUNK, PLAN_ROWS))
                             ).scalars().all()
        if not ids:
            return
        yield ids
        last = ids[-1]


def _insert_missing(db: Session, rows: list[dict], name: str, period: str) -> int:
    """Insert the rows whose (campaign, week, person) is not there yet, due; returns how many.
    SQLite's planning (PostgreSQL plans in the database: `_plan_in_database`)."""
    stmt = sqlite.insert(CampaignRun).on_conflict_do_nothing(
        index_elements=["campaign", "week", "person_id"]).returning(CampaignRun.id,
                                                                     CampaignRun.planned_at)
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues");
    # rowcount is -1 for these on some drivers, so the inserted rows are counted from RETURNING
    inserted = db.execute(stmt, rows).all()
    due.put(db, [(i, name, period, at) for i, at in inserted])
    return len(inserted)


def dispatch(rt: runtime.Runtime | None = None, now: datetime | None = None,
             force: bool = False, limit: int = 50_000,
             hand_over: Callable[[list[int]], None] | None = None,
             campaigns: list[str] | None = None) -> int:
    """Claim due rows (due.py) and enqueue `deliver` jobs; returns rows claimed.

    Outside the sending window only campaigns that ignore it go (unless `force`: an operator's
    `--now`, which also names the one campaign it is for in `campaigns`). Rows of a period that
    has ended are skipped as they are claimed, forced or not: last week's nudge is no use on
    Sunday. Rows claimed long ago whose job was lost (a flushed Redis, a worker killed mid-job)
    are due again.
    `hand_over` takes each claimed batch instead of the queue (the CLI delivers in-process);
    its claim stays until `_reclaim_lost` finds it old, its rows done (or, had the process
    died before delivering them, due again).
    """
    rt = rt or runtime.current()
    now = now or rt.now()
    cal = rt.calendar
    only = campaigns  # campaigns that may go now; None: all of them
    if not force and not cal.in_window(now):
        windowless = [c.id for c in rt.campaigns.values() if not c.window]
        only = [c for c in (only if only is not None else windowless) if c in windowless]
        if not only:
            return 0
    with rt.db.session() as db:
        _reclaim_lost(db, now)
    claimed = taken = 0
    q = rt.queue("default")
    after = None  # (planned_at, id) of the last row this call claimed: the next claim starts
    # past it, so an index scan never walks again over the rows it has just claimed (their
    # deleted entries stay in the index until vacuum, and would make each claim slower)
    while taken < limit:
        with rt.db.session() as db:
            rows, last = due.claim(db, now, only, after, min(CLAIM, limit - taken))
            if not rows:
                break
            ids = _skip_stale(db, rt, rows, now)
            batches = [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]
            claims = due.hold(db, batches, now)
        after = last
        taken += len(rows)
        if hand_over is not None:  # its claims stay until reclaim finds their rows done
            for batch in batches:
                hand_over(batch)
        elif batches:
            try:
                # a short description: RQ's default spells out the call, all BATCH ids, per
                # job; the job's id is its claim's, never given twice (a batch's first row is:
                # a row due again starts a later batch, whose job would overwrite a pending
                # one's arguments)
                q.enqueue_many([Queue.prepare_data(deliver, (batch,), {"claim": claim},
                                                   job_id=f"campaign-{claim}",
                                                   retry=session.BUSY_RETRY,
                                                   description=f"campaign rows "
                                                               f"{batch[0]}..{batch[-1]}")
                                for batch, claim in zip(batches, claims)])
            except Exception:
                # Redis refused the jobs: their rows are due again now, for the next dispatch,
                # not after LOST_AFTER (when their period may be over); a job that got there
                # all the same finds them due and leaves them
                with rt.db.session() as db:
                    due.give_back(db, claims)
                raise
        claimed += len(ids)
    return claimed


def _skip_stale(db: Session, rt: runtime.Runtime, rows: list[tuple[int, str, str]],
                now: datetime) -> list[int]:
    """Claimed rows of a period that has ended are skipped, never sent late: last week's
    nudge is no use on Sunday. A week ("2026-W49") ends with its school week, a month
    ("2026-12") with the month, whatever the campaign's cadence is now (an id may have been
    reused). Rows of a campaign no longer in the file are skipped too. Returns the ids left
    to send. (A row's job checks the same again when it runs: campaign.is_over.)"""
    week, month = rt.calendar.week_of(now), f"{rt.calendar.local(now):%Y-%m}"
    notes: dict[str, list[int]] = {}
    keep = []
    for run_id, name, period in rows:
        if period < (week if "-W" in period else month):
            notes.setdefault(WEEK_OVER, []).append(run_id)
        elif name not in rt.campaigns:
            notes.setdefault("no_campaign", []).append(run_id)
        else:
            keep.append(run_id)
    for note, ids in notes.items():
        db.execute(update(CampaignRun).where(CampaignRun.id.in_(ids),
                                             CampaignRun.status.in_(due.CLAIMED))
                   .values(status="skipped", note=note, done_at=now)
                   .execution_options(synchronize_session=False))
    return keep


def _reclaim_lost(db: Session, now: datetime) -> None:
    """Rows claimed for a `deliver` job that never ran are due again; if the job does run
    after all, it finds them due (or done) and leaves them (each is sent once)."""
    lost = due.reclaim(db, now, LOST_AFTER)
    if lost:
        log.warning("%d campaign rows claimed over %s ago were never delivered; due again",
                    lost, LOST_AFTER)


def deliver(run_ids: list[int], claim: int | None = None) -> dict[str, int]:
    """RQ job: send each claimed campaign row, one teacher at a time under their turn lock;
    then release the claim (due.py) that handed them over."""
    rt = runtime.current()
    counts: dict[str, int] = {}
    with rt.db.session() as db:
        people = dict(db.execute(select(CampaignRun.id, CampaignRun.person_id)
                                 .where(CampaignRun.id.in_(run_ids))).all())
    for run_id in run_ids:
        if run_id not in people:  # no such row (its claim outlived it): nothing to send
            outcome, queued = "duplicate", []
        else:
            try:
                with session.locked(rt.redis, people[run_id]):
                    outcome, queued = _deliver_one(rt, run_id)
            except session.Busy:  # someone else holds the turn: try this one again shortly
                with rt.db.session() as db:
                    row = _claimed(db, run_id)
                    if row is not None:
                        _defer(db, row, rt.now())
                outcome, queued = "deferred", []
            outbox.enqueue(queued, people[run_id])
        counts[outcome] = counts.get(outcome, 0) + 1
    if claim is not None:
        with rt.db.session() as db:
            due.release(db, claim)
    return counts


def _claimed(db: Session, run_id: int) -> CampaignRun | None:
    """The row, locked, when a job may act on it: claimed (not due, not done)."""
    row = db.execute(select(CampaignRun).where(CampaignRun.id == run_id,
                                               CampaignRun.status.in_(due.CLAIMED))
                     .with_for_update()).scalar_one_or_none()
    if row is None or due.waiting(db, run_id):  # done, or due again: not this job's
        return None
    return row


def _defer(db: Session, row: CampaignRun, now: datetime) -> None:
    """Due again BUSY_DELAY from now (the person is mid-conversation, or their turn is busy)."""
    row.status, row.planned_at = "planned", now + BUSY_DELAY
    due.put_row(db, row)


def _deliver_one(rt: runtime.Runtime, run_id: int) -> tuple[str, list[int]]:
    now = rt.now()
    with rt.db.session() as db:
        row = _claimed(db, run_id)
        if row is None:  # a duplicate job: the first one had it
            return "duplicate", []
        person = db.get(Person, row.person_id)
        campaign = rt.campaigns.get(row.campaign)
        if campaign is None:
            return _skip(row, "no_campaign", now), []
        if campaign.is_over(rt.calendar, row.week, now):  # its job waited past the period
            return _skip(row, WEEK_OVER, now), []
        if person.opted_out:
            return _skip(row, "opted_out", now), []
        if not _in_audience(db, campaign, person.id, row.week):  # they changed, or wrote in
            return _skip(row, "not_in_audience", now), []
        if _mid_conversation(db, person.id, now):
            _defer(db, row, now)
            return "deferred", []
        if person.channel == "voice":
            return _call(rt, db, row, person, campaign, now), []
        fields = {"week": row.week}
        if campaign.prepare:
            try:
                fields.update(rt.preparations[campaign.prepare](Preparing(
                    db=db, person=person, row=row, campaign=campaign, content=rt.content,
                    now=now, calendar=rt.calendar, catalogues=rt.catalogues,
                    flow=rt.flows[campaign.flow], levels=rt.levels, campaigns=rt.campaigns)))
            except Skip as why:
                return _skip(row, str(why), now), []
        channel = person.channel if person.channel in ("sms", "whatsapp") else "sms"
        if campaign.first_contact:
            channel = outbox.first_contact_channel(rt.settings, channel)
        turn = Turn(db, None, now, person=person, channel=channel)
        run = turn.start_flow(campaign.flow, fields)
        ids = turn.reply_ids()
        if campaign.first_contact:
            outbox.as_template(db, turn.replies, now)
        row.status, row.done_at, row.flow_run_id = "sent", now, run.id
        row.activity, row.variant = fields.get("activity"), fields.get("variant")
        return "sent", ids


def _call(rt: runtime.Runtime, db: Session, row: CampaignRun, person: Person,
          campaign: Campaign, now: datetime) -> str:
    """A person on voice gets the campaign as a call that runs its flow, when its flow runs on
    voice. Its preparation runs when the call is answered, so what the call says is fresh and
    nothing is used up (an activity, a teacher's question) by a call nobody heard."""
    if not rt.flows[campaign.flow].runs_on("voice"):
        return _skip(row, "no_voice_flow", now)
    queue_call(db, person=person, purpose=CAMPAIGN, flow=campaign.flow, now=now,
               campaign_run_id=row.id)
    row.status, row.done_at = "calling", now
    return "calling"


def _in_audience(db: Session, campaign: Campaign, person_id: int, period: str) -> bool:
    """The audience's test on one person at send time: roles and choices change, and someone
    invited may have written in since the plan."""
    return db.execute(select(Person.id).where(
        Person.id == person_id, *campaign.audience.conditions(period))).first() is not None


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


def plan_due() -> int:
    """RQ cron job: plan the campaigns whose day has come, from PLAN_AHEAD before their start
    (cheap when already planned: one indexed count; inserting what is missing also picks up
    people who joined since)."""
    rt = runtime.current()
    now = rt.now()
    week = rt.calendar.week_of(now)
    total = 0
    for name, c in rt.campaigns.items():
        try:
            span = when(rt.calendar, c, week)
            if span is None or not (span[0] - PLAN_AHEAD <= now < c.plannable_until(rt.calendar,
                                                                                     span)):
                continue
            total += plan(rt, name, week, now).planned
        except Exception:  # one broken campaign never stops the others being planned
            log.exception("planning campaign %s for %s failed", name, week)
    return total


def status(rt: runtime.Runtime, week: str) -> dict[str, dict[str, int]]:
    """{campaign: {status: rows}} for the period each campaign gives a school week; a planned
    row that is claimed (a deliver job has it: due.py) counts as "queued"."""
    periods = {name: c.period_for_week(rt.calendar, week) for name, c in rt.campaigns.items()}
    out: dict[str, dict[str, int]] = {name: {} for name in rt.campaigns}
    pairs = [(name, p) for name, p in periods.items() if p]
    if not pairs:
        return out
    def of_the_week(table):  # campaign_run or campaign_due: each campaign's period
        return or_(*[and_(table.campaign == name, table.week == p) for name, p in pairs])

    with rt.db.session() as db:
        rows = db.execute(select(CampaignRun.campaign, CampaignRun.status, func.count())
                          .where(of_the_week(CampaignRun))
                          .group_by(CampaignRun.campaign, CampaignRun.status)).all()
        waiting = dict(db.execute(select(CampaignDue.campaign, func.count())
                                  .where(of_the_week(CampaignDue))
                                  .group_by(CampaignDue.campaign)).all())
    for name, st, n in rows:
        counts = out.setdefault(name, {})
        if st == "planned":  # those not due are claimed
            due_now = min(waiting.get(name, 0), n)
            if n > due_now:
                counts["queued"] = counts.get("queued", 0) + n - due_now
            n = due_now
        if n:
            counts[st] = counts.get(st, 0) + n
    return out
