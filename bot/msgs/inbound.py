"""What happens to a message in.

`accept` runs in the webhook (through spool.take): it records the message (once per provider
sid, stamped with the time it arrived) and enqueues `handle`; that is all the webhook waits
for. `handle` runs on a worker: under the person's turn lock it claims the message and lets a
`Turn` (turn.py) act on it; claiming the message and writing its replies happen in one
transaction, so a job that runs twice, or a provider that retries, produces one set of
replies. A flood or a reply loop (abuse.py) is recorded and not acted on. `expire` acts on a
flow's wait that ran out; `sweep` enqueues what was recorded while Redis was down.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import metrics, runtime
from ..flows import engine
from ..logs import mask
from ..store.models import FlowRun, Message, Person
from . import abuse, handoff, outbox, session
from .turn import SLOW_DOWN, Turn

log = logging.getLogger(__name__)

SWEEP_MAX_ATTEMPTS = 5  # times a recorded message is re-enqueued before it is left for a human
TURNS_A_JOB = 20  # a person's messages one `handle` job takes in turn; their own jobs do the rest


@dataclass(frozen=True)
class Media:
    url: str
    type: str  # content type, e.g. image/jpeg; may be empty


@dataclass(frozen=True)
class Incoming:
    """An inbound message as a webhook took it (checked by intake.py)."""

    sid: str
    channel: str  # sms | whatsapp
    sender: str  # E.164 (without whatsapp:), or as given when it is not a phone number
    body: str
    provider: str = "twilio"  # or the channel of the channels file it came in on ("local")
    received_at: datetime | None = None  # when the webhook got it; kept through the spool
    media: tuple[Media, ...] = ()

    def to_json(self) -> dict:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat() if self.received_at else None
        data["media"] = [asdict(m) for m in self.media]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Incoming":
        """Also reads what an older version spooled (no received_at, no media)."""
        at = data.get("received_at")
        return cls(sid=data["sid"], channel=data["channel"], sender=data["sender"],
                   body=data["body"], received_at=datetime.fromisoformat(at) if at else None,
                   media=tuple(Media(**m) for m in data.get("media") or ()),
                   provider=data.get("provider") or "twilio")


def insert_statement(dialect: str):
    """The whole of recording an inbound message, as one statement: INSERT .. ON CONFLICT DO
    NOTHING RETURNING (id, person_id), the person found by phone inside it. No savepoint, no
    row read first: a provider's retry (the same sid) inserts nothing and returns no row.
    Built once per dialect, with bound parameters (`_values`), so a webhook only binds them."""
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _INSERTS[dialect] = (
            insert(Message).values(
                direction="in", channel=bindparam("channel"), address=bindparam("address"),
                person_id=select(Person.id).where(Person.phone == bindparam("address"))
                .scalar_subquery(),
                provider=bindparam("provider"), provider_sid=bindparam("sid"),
                body=bindparam("body"), status="received", media=bindparam("media"),
                attempts=0, created_at=bindparam("created_at"),
                updated_at=bindparam("updated_at"))
            .on_conflict_do_nothing(index_elements=["direction", "provider_sid"])
            .returning(Message.id, Message.person_id))
    return stmt


_INSERTS: dict = {}


def _values(inc: Incoming, now: datetime) -> dict:
    return dict(channel=inc.channel, address=inc.sender, provider=inc.provider, sid=inc.sid,
                body=inc.body, media=[asdict(m) for m in inc.media] if inc.media else None,
                created_at=inc.received_at or now, updated_at=now)


def accept(inc: Incoming, deadline: float | None = None, replaying: bool = False) -> bool:
    """The webhook's whole job: record durably, then enqueue. False for a duplicate.
    `deadline`: seconds the database may take (it raises OperationalError past them).
    `replaying` (the spool's replay): a "duplicate" may be this very message, whose INSERT
    committed on the server after the webhook gave up at its deadline (autocommit: nothing
    rolls it back) and which no job was queued for; if it is still unhandled, it is queued.

    One database round trip on PostgreSQL (Database.write_once: one autocommitted INSERT ..
    RETURNING), then one Redis round trip: RQ's job for `handle` (handoff.py: the commands
    RQ's enqueue sends, prepared once) and the counter, in one MULTI/EXEC."""
    rt = runtime.current()
    rows = rt.db.write_once(insert_statement(rt.db.engine.dialect.name),
                            _values(inc, rt.now()), deadline=deadline)
    if not rows:
        log.info("duplicate %s from %s ignored", inc.sid, mask(inc.sender))
        metrics.record(rt.redis, lambda p: metrics.count(
            p, "sathi_messages_in", channel=inc.channel, status="duplicate"))
        if replaying:
            _enqueue_unhandled(rt, inc.sid)
        return False
    message_id, person_id = rows[0]
    try:
        counter = _Commands()
        metrics.count(counter, "sathi_messages_in", channel=inc.channel, status="recorded")
        _handoff(rt).enqueue(rt.redis, f"in-{message_id}", (message_id,),
                             {"person_id": person_id} if person_id else None, extra=counter)
    except Exception:  # Redis down: the message is recorded; `sweep` enqueues it later
        log.warning("could not enqueue inbound message %s (Redis unavailable); it will be "
                    "swept", message_id)
    return True


def _enqueue_unhandled(rt: runtime.Runtime, sid: str) -> None:
    """Queue `handle` for the message of provider id `sid` if it is still unhandled (a job for
    it that is queued already makes this one a no-op: the claim lets one act)."""
    with rt.db.read() as db:
        row = db.execute(select(Message.id, Message.person_id).where(
            Message.direction == "in", Message.provider_sid == sid,
            Message.status == "received")).first()
    if row is not None:
        try:
            _handoff(rt).enqueue(rt.redis, f"in-{row.id}", (row.id,),
                                 {"person_id": row.person_id} if row.person_id else None)
        except Exception:  # Redis down: `sweep` enqueues it later
            log.warning("could not enqueue inbound message %s (Redis unavailable); it will "
                        "be swept", row.id)


_HANDOFFS: dict[str, handoff.Handoff] = {}

HANDLE_JOB = dict(retry=session.BUSY_RETRY, result_ttl=0)
"""The options of every `handle` job. Retried while the person's turn is busy. What it
returns (a count of replies) is read by nobody: with result_ttl=0 RQ deletes a finished job
at once instead of keeping it, its result and a finished-registry entry for 500 s (some 50,000
of each at 100 messages a second). A failed job is kept as before (failure_ttl)."""


def _handoff(rt: runtime.Runtime) -> handoff.Handoff:
    """The hand-off of `handle` to the inbound queue, prepared once. The simulator's queues
    have their own, made for each call and not kept: the console makes a Simulator, with a
    fresh queue prefix, for every request, so kept ones would pile up for the process's life."""
    name = rt.queue_prefix + "inbound"
    h = _HANDOFFS.get(name)
    if h is None:
        h = handoff.Handoff(rt.queue("inbound"), handle, **HANDLE_JOB)
        if not rt.queue_prefix:
            _HANDOFFS[name] = h
    return h


class _Commands(list):
    """Commands for a hand-off's transaction, written as to a pipeline (metrics.count)."""

    def hincrby(self, key: str, field: str, amount: int = 1) -> None:
        self.append(("HINCRBY", key, field, amount))


def handle(message_id: int, person_id: int | None = None) -> int:
    """RQ job: act on an inbound message. Returns how many replies it queued.

    Under the person's lock, their oldest unhandled message goes first, so "1" then "2" is
    never applied as "2" then "1" even when two workers or a retried job race each other.
    The job goes on with whatever else the person has written by then (their own jobs find
    nothing left), and only then sends the replies, still under the lock
    (outbox.send_now): a STOP written before the job ran is honoured before any reply to
    the messages ahead of it goes out. `person_id` comes from the webhook's
    INSERT .. RETURNING (None from an older job or the sweep: it is looked up)."""
    rt = runtime.current()
    started = time.monotonic()
    if person_id is None:
        with rt.db.read() as db:
            person_id = db.execute(select(Message.person_id)
                                   .where(Message.id == message_id)).scalar()
    if person_id is None:  # an unknown number: no turn to keep in order
        return _handle_one(rt, message_id, started)
    queued: list[int] = []
    reads = outbox.Reads()
    with session.locked(rt.redis, person_id) as held:
        try:
            for _ in range(TURNS_A_JOB):
                held.keep()
                handled = _handle_next(rt, person_id, reads)
                if handled is None:
                    break
                replies, more = handled
                queued += replies
                if not more:
                    break
        finally:  # a turn that failed after others committed: theirs still go (it is retried)
            outbox.send_now(rt, queued, person_id, started, reads, held)
    return len(queued)


_RECEIVED = select(Message.id).where(Message.person_id == bindparam("h_person"),
                                     Message.direction == "in", Message.status == "received")
_CLAIM_NEXT = (update(Message).where(
    Message.id == _RECEIVED.order_by(Message.id).limit(1).scalar_subquery(),
    Message.status == "received")
    .values(status="handled", updated_at=bindparam("h_now")).returning(Message)
    # a fresh session holds no message to bring up to date: the ORM need not look for one
    .execution_options(synchronize_session=False))
_MORE = select(_RECEIVED.where(Message.id > bindparam("h_after")).exists())
"""`_handle_next`'s statements, built once with bound parameters: building each (and its
cache key) for every message cost more CPU than running it."""


def _handle_next(rt: runtime.Runtime, person_id: int,
                 reads: outbox.Reads) -> tuple[list[int], bool] | None:
    """Claim the person's oldest unhandled message and act on it, in one transaction: the
    claim is one UPDATE .. RETURNING the message. (The ids of its replies, whether another
    is waiting behind it), or None when none is left.

    What the turn read and wrote stays in `reads` for the send that follows under the same
    lock: the person and the replies as the turn left them, and, when nothing is waiting
    behind it, their newest message in (by SMS: the provider it came through is the one the
    replies go back by)."""
    with rt.db.session() as db:
        msg = db.execute(_CLAIM_NEXT, {"h_person": person_id, "h_now": rt.now()}).scalar()
        if msg is None:
            return None
        turn = _act(rt, db, msg)
        replies = turn.reply_ids()
        more = db.execute(_MORE, {"h_person": person_id, "h_after": msg.id}).scalar()
    reads.turn(turn)
    if not more:
        reads.newest_in(msg)
    return replies, more


def _handle_one(rt: runtime.Runtime, message_id: int, started: float) -> int:
    """Claim one message and act on it; the claim and the replies commit together."""
    with rt.db.session() as db:
        msg = _claim(rt, db, message_id)
        if msg is None:
            return 0
        queued = _act(rt, db, msg).reply_ids()
    outbox.send_now(rt, queued, None, started)
    return len(queued)


def _claim(rt: runtime.Runtime, db: Session, message_id) -> Message | None:
    """received -> handled, one UPDATE .. RETURNING the message (`message_id` an id or a
    subquery for one); None when it is no longer there to claim."""
    return db.execute(update(Message).where(Message.id == message_id,
                                            Message.status == "received")
                      .values(status="handled", updated_at=rt.now())
                      .returning(Message)).scalar()


def _act(rt: runtime.Runtime, db: Session, msg: Message) -> Turn:
    """The turn on a claimed message (its replies written in `db`)."""
    turn = Turn(db, msg, rt.now())
    # STOP is honoured whatever else is going on; anything else is counted first
    verdict = abuse.OK if turn.is_stop() else abuse.check_inbound(rt.redis, msg.address,
                                                                   rt.now())
    if verdict.act:
        turn.run()
        turn.guard_loop()
    else:
        _hold_back(rt, turn, verdict)
    return turn


def _hold_back(rt: runtime.Runtime, turn: Turn, verdict: abuse.Verdict) -> None:
    """A flood or a reply loop: the message stays on record, unanswered; the first one held
    back in a flood is told, politely, to write again in a minute."""
    msg = turn.msg
    msg.status = "throttled"
    metrics.record(rt.redis, lambda p: metrics.count(p, "sathi_messages_in", channel=msg.channel,
                                                     status="throttled"))
    if verdict.tell:
        turn.notice(SLOW_DOWN)


def expire(run_id: int) -> int:
    """RQ job: a flow's wait ran out. Does nothing if the run has moved on since."""
    rt = runtime.current()
    with rt.db.session() as db:
        person_id = db.execute(select(FlowRun.person_id).where(FlowRun.id == run_id)).scalar()
    if person_id is None:
        return 0
    with session.locked(rt.redis, person_id):
        with rt.db.session() as db:
            now = rt.now()
            run = db.execute(select(FlowRun).where(
                FlowRun.id == run_id, FlowRun.status == session.ACTIVE,
                FlowRun.timeout_at <= now)).scalar_one_or_none()
            if run is None:
                return 0
            person = db.get(Person, person_id)
            if person.opted_out:
                session.end(run, "interrupted", now)
                return 0
            # replies to a timeout go out on the channel the conversation is on
            turn = Turn(db, None, now, person=person, channel=run.session["channel"])
            new_session, events = engine.resume(rt.flows[run.flow], run.session,
                                                engine.Input(timeout=True), now)
            turn.apply(run, new_session, events)
            queued = turn.reply_ids()
        outbox.enqueue(queued, person_id)
        return len(queued)


def expire_due() -> int:
    """RQ cron job: enqueue `expire` for every run whose wait has run out. Planned from the
    database, so a restart or a flushed Redis loses no timeout. What a timeout says is sent
    unasked, so it waits for the sending window: a deadline that passes on Friday evening is
    acted on at 09:00 on Sunday."""
    rt = runtime.current()
    if not rt.calendar.in_window(rt.now()):
        return 0
    with rt.db.session() as db:
        ids = db.execute(select(FlowRun.id).where(FlowRun.status == session.ACTIVE,
                                                  FlowRun.timeout_at <= rt.now())).scalars().all()
    q = rt.queue("default")
    for run_id in ids:
        q.enqueue(expire, run_id, job_id=f"expire-{run_id}", retry=session.BUSY_RETRY)
    return len(ids)


def sweep(older_than: timedelta = timedelta(minutes=1)) -> int:
    """RQ job: enqueue inbound messages that were recorded but never enqueued (Redis was down)."""
    rt = runtime.current()
    cutoff = rt.now() - older_than
    with rt.db.session() as db:
        ids = db.execute(select(Message.id).where(
            Message.direction == "in", Message.status == "received",
            Message.created_at < cutoff, Message.attempts < SWEEP_MAX_ATTEMPTS)).scalars().all()
        if ids:
            db.execute(update(Message).where(Message.id.in_(ids))
                       .values(attempts=Message.attempts + 1))
        stuck = db.execute(select(Message.id).where(
            Message.direction == "in", Message.status == "received",
            Message.created_at < cutoff, Message.attempts >= SWEEP_MAX_ATTEMPTS)).scalars().all()
        if stuck:  # marked once, so each is reported once
            db.execute(update(Message).where(Message.id.in_(stuck)).values(status="failed"))
        for mid in stuck:
            log.error("inbound message %s could not be handled after %s sweeps; left for a "
                      "human (status failed)", mid, SWEEP_MAX_ATTEMPTS)
    q = rt.queue("inbound")
    for mid in ids:
        q.enqueue(handle, mid, job_id=f"in-{mid}", **HANDLE_JOB)
    return len(ids)
