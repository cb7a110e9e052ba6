"""The digests' RQ cron jobs (bot/schedule.py):

    congratulate  send the congratulations an officer confirmed (recognition.py), inside the
                  sending window, each recipient under their turn lock, once (the nomination is
                  claimed confirmed -> sent in the same transaction that queues the messages)
    finalise      work out last school week's figures once more when its answers have become
                  final (the Monday after it), at night, so the week's digests on Thursday
                  only refresh their own week
    keep_fresh    keep the weeks the console's dashboard shows worked out: this week when its
                  figures are older than rollup.FRESH_FOR, an older week once (after it is
                  final), so that a page never works figures out while someone waits

Not imported by the runtime: like the campaign fan-out, they fetch the running parts with
`runtime.current()`.
"""
from __future__ import annotations

from contextlib import ExitStack

from .. import runtime
from ..msgs import outbox, session
from ..msgs.turn import Turn
from ..store.models import Person, Recognition, School
from . import recognition, rollup
from .figures import reflection_campaigns
from .text import short_name

CONGRATULATE_EVERY = 60  # seconds between looks for confirmed congratulations (cron)
FINALISE_EVERY = 3600  # seconds between looks for a week whose figures became final (cron)
KEEP_FRESH_EVERY = 1800  # seconds between refreshes of the dashboard's weeks (cron); at a million
# teachers this week's refresh is about half a minute of database work (bench/console.py)
FLOW = "congratulation"  # flows/congratulation.yaml


def congratulate() -> int:
    """Send what officers confirmed; returns the nominations sent."""
    rt = runtime.current()
    now = rt.now()
    if not rt.calendar.in_window(now):  # a teacher is not texted at night; the next run sends
        return 0
    with rt.db.session() as db:
        due = recognition.due(db)
    sent = 0
    for rec_id in due:
        with rt.db.session() as db:
            rec = db.get(Recognition, rec_id)
            people = sorted(p.id for p, _ in recognition.recipients(db, rec))
        try:
            with ExitStack() as locks:
                for person_id in people:  # in id order: two jobs never wait on each other
                    locks.enter_context(session.locked(rt.redis, person_id))
                turns = _send(rt, rec_id, now)
        except session.Busy:  # someone's turn is under way: the next run sends it
            continue
        for replies in turns:
            outbox.enqueue(replies)
        sent += bool(turns)
    return sent


def _send(rt, rec_id: int, now) -> list[list[int]]:
    with rt.db.session() as db:
        rec = recognition.claim(db, rec_id, now)
        if rec is None:  # another worker sent it
            return []
        nominee = db.get(Person, rec.person_id)
        school = db.get(School, rec.school_id)
        turns = []
        for person, to in recognition.recipients(db, rec):
            turn = Turn(db, None, now, person=person,
                        channel=person.channel if person.channel in ("sms", "whatsapp")
                        else "sms")
            turn.start_flow(FLOW, {"to": to, "nominee": nominee.name, "upazila": rec.upazila,
                                   "school": short_name(school.name), "score": rec.score,
                                   "weeks": rec.weeks})
            turns.append(turn.reply_ids())
    return turns


def finalise() -> int:
    """RQ cron job: refresh last school week's figures if its answers became final since they
    were last worked out (cheap when they were: one statement). Returns the weeks refreshed."""
    rt = runtime.current()
    now = rt.now()
    last = rt.calendar.next_week(rt.calendar.week_of(now), -1)
    if now < rollup.final_at(rt.calendar, last):  # Sunday: answers may still come
        return 0
    with rt.db.session() as db:
        return rollup.ensure_fresh(db, rt.calendar, [last], now,
                                   reflection_campaigns(rt.campaigns))


def keep_fresh() -> int:
    """RQ cron job: bring the dashboard's weeks (rollup.shown_weeks) up to date; returns the
    weeks worked out (none, in one statement, when all are fresh)."""
    rt = runtime.current()
    now = rt.now()
    weeks = rollup.shown_weeks(rt.calendar, rt.calendar.week_of(now))
    with rt.db.session() as db:
        return rollup.ensure_fresh(db, rt.calendar, weeks, now, reflection_campaigns(rt.campaigns))
