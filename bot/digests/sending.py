"""RQ cron job: send the congratulations an officer confirmed (recognition.py), inside the
sending window, each recipient under their turn lock, once (the nomination is claimed
confirmed -> sent in the same transaction that queues the messages).

Not imported by the runtime: like the campaign fan-out, it fetches the running parts with
`runtime.current()`.
"""
from __future__ import annotations

from contextlib import ExitStack

from .. import runtime
from ..msgs import outbox, session
from ..msgs.turn import Turn
from ..store.models import Person, Recognition, School
from . import recognition
from .text import short_name

CONGRATULATE_EVERY = 60  # seconds between looks for confirmed congratulations (cron)
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
            turns.append([m.id for m in turn.replies])
    return turns
