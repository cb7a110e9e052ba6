"""What happens to a message out: rendered and stored, then sent by a worker.

A message is written to the database as `queued` in the same transaction as whatever caused it;
after that commit one job sends the turn's replies: the job that handled the turn itself
(`send_now`, still holding the person's turn), or a `send` job for everything else. Under the
person's turn lock the job sends the person's pending replies oldest first (`_send_in_order`),
so one person's replies leave in the order their turns were handled, however many workers race
for them; a reply that must wait (a retry's backoff) holds back those behind it. Each row is
claimed (so no reply goes twice), the opt-out is checked (so nothing queued before a STOP goes
out after it, and no STOP can slip in between the check and the send), the provider is picked
(`routing`: Twilio or a local gateway), the job waits for that sender's rate (`ratelimit`)
and sends it. Rows whose job was lost are found by `sweep`.

A claimed row is `sending` with a lease (SENDING_LEASE). If the worker dies, or the provider's
answer never comes (a read timeout after the request went out), the outcome is unknown: once
the lease is over the row is looked up at the provider before anything is sent again
(`reconcile`), so a reply is neither lost nor sent twice.

What a failure leads to is decided here, not in the adapters (they only type their results):
- retryable (rate limited, provider down): the same row is tried again later with backoff,
  together with the replies behind it, keeping their order; given up after MAX_ATTEMPTS;
- the person opted out at the provider (21610): marked opted out, so nothing more goes to them;
- WhatsApp outside the 24-hour session: the approved template, if one is configured (and a
  conversation we open, an invitation, goes as the template from the start, or by SMS);
- any other final WhatsApp failure, at once or in a status callback: one SMS fallback;
- a retryable delivery error in a status callback (30003): a re-send, later, with backoff.
Follow-ups are new rows linked from the original's `DeliveryAttempt`, made once per message.
Every try and every status report is a `DeliveryAttempt` row; `Message.status` is the current
state and never moves backwards. Only a report that moves the status forward acts: a failure
reported after the delivery, a repeat, or a stale report out of order is recorded and changes
nothing (no re-send, no fallback). A delivery reported after a failure cancels the re-send or
fallback still waiting for its turn (`cancelled`), so she does not get the message twice.
"""
from __future__ import annotations

import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import redis
from sqlalchemy import bindparam, event, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import metrics, runtime
from ..channels.base import (
    OPTED_OUT,
    OUTSIDE_SESSION,
    Failed,
    Outgoing,
    RetryLater,
    Sent,
    Template,
    Unknown,
)
from ..channels.segments import count
from ..config import Settings
from ..contacts.phones import is_e164
from ..i18n import N_
from ..logs import mask
from ..store.models import DeliveryAttempt, Message, Person
from . import routing, session
from .ratelimit import SLEEP_MAX, SenderRate

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # sends tried before a message is given up (counted across re-sends)
BACKOFF_CAP = 600.0  # seconds; retry delays double from the provider's hint up to this
SWEEP_GRACE = timedelta(minutes=2)  # a queued reply this late past its due time lost its job
EARLY_STATUS_TTL = 3600  # seconds a status callback that beat its send is kept in Redis
FAILED = ("undelivered", "failed")  # provider statuses that mean the message did not arrive
DELIVERED = ("delivered", "read")  # provider statuses that mean it did
CANCELLED = "cancelled"  # a follow-up (re-send, fallback) not sent: the original arrived after all
TEMPLATE_FIELDS = ("body", "name")  # what SATHI_WHATSAPP_TEMPLATE_VARIABLES may map to
TURN_SLEEP_BUDGET = session.LOCK_TIMEOUT / 3  # seconds one job may sleep for the sender's rate
# while it holds a person's turn; past it the rest of the turn is re-scheduled, so the turn
# lock (which expires after LOCK_TIMEOUT) is never lost to waiting
SENDING_LEASE = timedelta(seconds=90)  # a claimed reply not settled by then has an unknown
# outcome (its worker died); longer than the slowest send: the rate's sleep plus the REST call
RECONCILE_AFTER = timedelta(seconds=60)  # after a send's answer was lost, wait this long before
# asking the provider whether it took the message, so a slow request has landed by then
RECONCILE_MARGIN = 5.0  # seconds a reconciling job is scheduled past the lease (clock skew)
LOOKUP_SKEW = timedelta(minutes=5)  # the provider's clock may be this far behind ours


def queue_text(db: Session, *, person: Person | None, address: str, channel: str, key: str,
               body: str, now: datetime, attempts: int = 0, delay: float = 0.0,
               flush: bool = True) -> Message:
    """Store one outbound message as queued; the caller enqueues it after commit. A re-send
    carries the `attempts` already spent and is due `delay` seconds from now. `flush=False`
    leaves the INSERT for the session's next flush, so a turn's replies go in one statement
    (the caller flushes before it reads their ids)."""
    msg = Message(direction="out", channel=channel, person_id=person.id if person else None,
                  address=address, body=body, key=key, segments=count(body).segments,
                  status="queued", attempts=attempts,
                  next_attempt_at=now + timedelta(seconds=delay), created_at=now,
                  updated_at=now)
    db.add(msg)
    if flush:
        db.flush()
    return msg


def first_contact_channel(settings: Settings, channel: str) -> str:
    """The channel of a conversation we open with someone who never wrote to us (an
    invitation): WhatsApp only by the approved template, so SMS when none is configured."""
    if channel == "whatsapp" and not settings.twilio_whatsapp_template_sid:
        return "sms"
    return channel if channel in ("sms", "whatsapp") else "sms"


def as_template(db: Session, messages: list[Message], now: datetime) -> None:
    """WhatsApp messages that open a conversation go as the approved template from their first
    try: no 24-hour session can be open, so free text would only be refused (63016)."""
    for msg in messages:
        if msg.channel == "whatsapp":
            db.add(DeliveryAttempt(message_id=msg.id, attempt=0, channel=msg.channel, at=now,
                                   outcome="template"))


def enqueue(message_ids: list[int], person_id: int | None = None) -> None:
    """One job for one turn's replies, so they leave in the order they were written.
    `person_id`, when the caller knows it, spares the job a query."""
    if message_ids:
        runtime.current().queue("outbound").enqueue_call(
            send, (list(message_ids),), {"person_id": person_id} if person_id else None,
            retry=session.BUSY_RETRY, job_id=f"send-{message_ids[0]}-0")


def send_now(rt: runtime.Runtime, message_ids: list[int], person_id: int | None,
             started: float, reads: Reads | None = None,
             held: session.Held | None = None) -> None:
    """A turn's replies, sent by the job that wrote them, while it still holds the person's
    turn (inbound.handle): one job a message instead of two, and the replies leave without
    waiting for a worker to pick up a send job. Anything that goes wrong hands them to a
    send job (`enqueue`), which takes them from wherever they got to (a claimed one waits
    out its lease and is reconciled); if Redis is down too, `sweep` finds them. `reads`:
    what the turn read already (the person, their newest message in); `held`: the person's
    turn, renewed as the sends go on."""
    if not message_ids:
        return
    try:
        if person_id is None:
            _send_listed(rt, list(message_ids), started)
        else:
            _send_in_order(rt, person_id, list(message_ids), started, reads, held)
    except Exception:
        log.warning("sending replies %s in the turn failed; a send job takes them", message_ids,
                    exc_info=True)
        enqueue(message_ids, person_id)


@dataclass
class Step:
    """What sending one message came to."""

    status: str
    retry: tuple[float, str] | None = None  # (seconds, job id): it and those behind it wait
    then: int | None = None  # a message to send right after it (the template, the fallback)


def send(message_ids: list[int], person_id: int | None = None) -> list[str]:
    """RQ job: send queued messages (one person's, in order). Returns each step's status."""
    rt = runtime.current()
    if person_id is None:
        with rt.db.read() as db:
            person_id = db.execute(select(Message.person_id)
                                   .where(Message.id == message_ids[0])).scalar()
    started = time.monotonic()
    if person_id is None:  # a stranger told how to join: no turns to keep in order
        return _send_listed(rt, list(message_ids), started)
    with session.locked(rt.redis, person_id) as held:
        return _send_in_order(rt, person_id, list(message_ids), started, held=held)


_COLUMNS = {c.key for c in Message.__table__.columns}
_NULL_UNLESS_SET = {c.key for c in Message.__table__.columns
                    if c.server_default is None and c.default is None}


@dataclass
class Reads:
    """What one job has read, shared by the replies it sends: each person (the job holds their
    turn, so nothing that changes them, a STOP or a new channel, is handled before it ends;
    what the job itself learns, a 21610, makes it `forget` them), routing's last inbound
    provider per person, and the reply rows the job itself wrote (`turn`)."""

    people: dict = field(default_factory=dict)
    providers: dict = field(default_factory=dict)  # routing.provider_for's
    messages: dict = field(default_factory=dict)  # replies as the job wrote them, by id

    def turn(self, turn) -> None:
        """What a turn handled by this job read and wrote: its person, its replies (their
        rows as written, committed: each is claimed by its own statement all the same)."""
        if turn.person is not None:
            self.people[turn.person.id] = turn.person
        for m in turn.replies:
            state = inspect(m)
            for name in state.unloaded:  # left out of the INSERT's values: written as NULL
                if name in _NULL_UNLESS_SET:
                    set_committed_value(m, name, None)
            if not state.unloaded & _COLUMNS:  # (relationships are not used here)
                self.messages[m.id] = m

    def newest_in(self, msg: Message) -> None:
        """`msg` is the person's newest message in: routing need not look for it."""
        if msg.channel == "sms" and msg.person_id is not None:
            self.providers[routing.last_in_key(msg)] = msg.provider

    def person(self, db: Session, person_id: int | None) -> Person | None:
        if person_id is None:
            return None
        if person_id not in self.people:
            self.people[person_id] = db.get(Person, person_id)
        return self.people[person_id]

    def message(self, db: Session, message_id: int) -> Message | None:
        """The row to claim, in `db`: as this job wrote it (once), or read."""
        msg = self.messages.pop(message_id, None)
        if msg is None:
            return db.get(Message, message_id)
        return db.merge(msg, load=False)

    def forget(self, person_id: int | None) -> None:
        self.people.pop(person_id, None)


def _pending(rt: runtime.Runtime, person_id: int) -> list[tuple[int, str, datetime]]:
    """The person's replies not yet settled (queued, or sending), oldest first."""
    with rt.db.read() as db:
        return [tuple(r) for r in db.execute(_PENDING, {"p_person": person_id}).all()]


_PENDING = (select(Message.id, Message.status, Message.next_attempt_at).where(
    Message.person_id == bindparam("p_person"), Message.direction == "out",
    Message.status.in_(("queued", "sending"))).order_by(Message.id))  # built once


def _send_in_order(rt: runtime.Runtime, person_id: int, ids: list[int],
                   started: float, reads: Reads | None = None,
                   held: session.Held | None = None) -> list[str]:
    """The per-person send ordering: every pending reply of the person, oldest first. This
    job's own `ids` go whenever they come; another job's go once they are due. A reply that
    is not due (a retry's backoff, an unknown outcome's lease) holds back everything behind
    it: the job that is scheduled for it sends those after it. `held`: the person's turn,
    renewed before each send so it outlasts however many there are."""
    mine, reads = set(ids), reads or Reads()
    todo = deque(_pending(rt, person_id))
    statuses: list[str] = []
    then: int | None = None
    while then is not None or todo:
        if then is not None:
            mid, then = then, None
        else:
            mid, status, due_at = todo.popleft()
            if due_at is not None and due_at > rt.now() and (status == "sending"
                                                             or mid not in mine):
                statuses.append("waiting")
                break
        if held is not None:
            held.keep()
        step = _send_one(rt, mid, _budget(started), reads)
        statuses.append(step.status)
        if step.retry is not None:  # this one and those behind it wait, to keep their order
            delay, job_id = step.retry
            rest = [mid] + [i for i, _, _ in todo if i in mine]
            rt.queue("outbound").enqueue_in(timedelta(seconds=delay), send, rest, job_id=job_id)
            break
        then = step.then
    return statuses


def _send_listed(rt: runtime.Runtime, ids: list[int], started: float) -> list[str]:
    """Send `ids` in the order given (messages with no person: nothing to keep in order)."""
    statuses: list[str] = []
    i, reads = 0, Reads()
    while i < len(ids):
        step = _send_one(rt, ids[i], _budget(started), reads)
        statuses.append(step.status)
        if step.then is not None:
            ids.insert(i + 1, step.then)
        if step.retry is not None:
            delay, job_id = step.retry
            rt.queue("outbound").enqueue_in(timedelta(seconds=delay), send, ids[i:],
                                            job_id=job_id)
            break
        i += 1
    return statuses


def _budget(started: float) -> float:
    return max(0.0, min(SLEEP_MAX, TURN_SLEEP_BUDGET - (time.monotonic() - started)))


class _StalePerson(Exception):
    """The job's copy of the person is out of date: they opted out since it was read."""

    def __init__(self, person_id: int):
        super().__init__(person_id)
        self.person_id = person_id


def _send_one(rt: runtime.Runtime, message_id: int, max_wait: float, reads: Reads) -> Step:
    """Claim, check, settle an unknown outcome, wait for the sender's rate (at most
    `max_wait` s), send, record. `reads`: what this job has read already, shared by a
    turn's replies.

    The job's copy of the person can be stale: a provider's status callback (21610, opted out
    at the provider) is applied by the webhook, outside the person's turn. So the claim of a
    reply checks, in its own statement, that the person has not opted out since; when that
    is what stopped it, the person is read again and the reply decided on afresh."""
    try:
        return _send_one_claimed(rt, message_id, max_wait, reads)
    except _StalePerson as stale:
        reads.forget(stale.person_id)
        return _send_one_claimed(rt, message_id, max_wait, reads, guard=False)


def _claim_statement(unknown: bool, guarded: bool, routed: bool):
    """The claim of a reply (queued or sending -> sending, its attempt counted, its lease
    set, its provider written when routed), as it was read: same status, same attempts; a
    `sending` one only once its lease is over (`unknown`); with `guarded`, only while the
    person has not opted out. A Core statement with bound parameters, built once for each
    of its eight shapes: building, caching and ORM-synchronising the statement for every
    reply cost more CPU than running it."""
    key = (unknown, guarded, routed)
    stmt = _CLAIMS.get(key)
    if stmt is None:
        stmt = update(Message.__table__).where(
            Message.id == bindparam("c_id"), Message.status == bindparam("c_status"),
            Message.attempts == bindparam("c_attempts"))
        if unknown:
            stmt = stmt.where(Message.next_attempt_at <= bindparam("c_now"))
        if guarded:  # the cached person may have opted out since (see _send_one)
            stmt = stmt.where(~select(Person.id).where(
                Person.id == bindparam("c_person"), Person.opted_out_at.is_not(None)).exists())
        values = dict(status="sending", updated_at=bindparam("c_now"),
                      attempts=bindparam("c_next_attempts"),
                      next_attempt_at=bindparam("c_lease"))
        if routed:
            values["provider"] = bindparam("c_provider")
        stmt = _CLAIMS[key] = stmt.values(**values)
    return stmt


_CLAIMS: dict = {}


def _claim(db: Session, msg: Message, now: datetime, unknown: bool, guarded: bool,
           provider: str | None) -> bool:
    """Claim `msg` (see _claim_statement) in `db`'s transaction; True when it was claimed,
    and `msg` then holds what the claim wrote, as committed values (no second UPDATE)."""
    lease = now + SENDING_LEASE
    claimed = db.connection().execute(
        _claim_statement(unknown, guarded, provider is not None),
        {"c_id": msg.id, "c_status": msg.status, "c_attempts": msg.attempts, "c_now": now,
         "c_person": msg.person_id, "c_next_attempts": msg.attempts + 1, "c_lease": lease,
         "c_provider": provider}).rowcount
    if claimed:
        wrote = dict(status="sending", updated_at=now, attempts=msg.attempts + 1,
                     next_attempt_at=lease)
        if provider is not None:
            wrote["provider"] = provider
        for name, value in wrote.items():
            set_committed_value(msg, name, value)
    return bool(claimed)


def _sent_statements(dialect: str) -> list:
    """What a send the provider took writes: the message `sent` with its sid, and the
    attempt. On PostgreSQL one statement (the UPDATE in a WITH of the INSERT), elsewhere
    two; built once, with bound parameters."""
    stmts = _SENT.get(dialect)
    if stmts is None:
        message, attempt = Message.__table__, DeliveryAttempt.__table__
        sent = update(message).where(message.c.id == bindparam("s_id")).values(
            status="sent", provider_sid=bindparam("s_sid"), updated_at=bindparam("s_now"))
        row = insert(attempt).values(
            message_id=bindparam("s_id"), attempt=bindparam("s_attempt"),
            channel=bindparam("s_channel"), at=bindparam("s_now"), outcome="sent",
            provider_sid=bindparam("s_sid"))
        stmts = _SENT[dialect] = ([row.add_cte(sent.cte("sent"))] if dialect == "postgresql"
                                  else [sent, row])
    return stmts


_SENT: dict = {}


def _record_sent(db: Session, msg: Message, attempt: int, now: datetime, sid: str) -> None:
    """Record, in `db`'s transaction, that the provider took `msg` (as `sid`), in Core
    statements (see _sent_statements): the unit of work cost more CPU than the round trips.
    `msg` then holds what was written, as committed values."""
    conn = db.connection()
    params = {"s_id": msg.id, "s_sid": sid, "s_now": now, "s_attempt": attempt,
              "s_channel": msg.channel}
    for stmt in _sent_statements(conn.dialect.name):
        conn.execute(stmt, params)
    for name, value in (("status", "sent"), ("provider_sid", sid), ("updated_at", now)):
        set_committed_value(msg, name, value)


def _send_one_claimed(rt: runtime.Runtime, message_id: int, max_wait: float, reads: Reads,
                      guard: bool = True) -> Step:
    now = rt.now()
    with rt.db.session() as db:
        msg = reads.message(db, message_id)
        if msg is None or msg.status not in ("queued", "sending"):
            return Step("skipped")
        # a `sending` row is claimable only once its lease is over: its outcome is unknown
        unknown, since = msg.status == "sending", msg.updated_at - LOOKUP_SKEW
        person = reads.person(db, msg.person_id)
        refused = None if unknown else _refusal(msg, person)
        # Twilio or a gateway, written on the message by the claim itself
        way = None if refused else routing.route(rt, db, msg, reads.providers)
        guarded = guard and person is not None and not refused and msg.key not in ALWAYS_SENT
        claimed = _claim(db, msg, now, unknown, guarded, way.provider if way else None)
        if not claimed:
            if guarded:
                raise _StalePerson(msg.person_id)  # or the row moved on; decided again
            return Step("skipped")
        if refused:
            _refuse(msg, person)
            _count_out(rt, msg.channel, refused)
            return Step(refused)
        templated = msg.channel == "whatsapp" and _template_tried(db, msg.id)
        template = _template(rt.settings, msg, person) if templated else None
        outgoing = Outgoing(to=msg.address, channel=msg.channel, body=msg.body,
                            status_callback=way.status_callback, template=template,
                            ref=str(msg.id))
        attempts, channel = msg.attempts, msg.channel
    adapter, sender = way.adapter, way.sender
    if unknown:  # settled first: it may be at the provider already
        reads.forget(msg.person_id)  # what it settles to may change the person (21610)
        settled = reconcile(rt, message_id, outgoing, since, adapter)
        if settled is not None:
            return settled
        with rt.db.session() as db:
            msg = db.get(Message, message_id)
            refused = _refuse(msg, db.get(Person, msg.person_id) if msg.person_id else None)
            if refused:
                _count_out(rt, channel, refused)
                return Step(refused)

    if sender is not None:
        later = SenderRate(rt.redis).wait_for(sender, way.rate, max_wait)
        if later is not None:  # too long to hold the person's turn: come back, no attempt used
            delay = later + random.uniform(0, SLEEP_MAX)  # spread the waiters out
            with rt.db.session() as db:
                msg = db.get(Message, message_id)
                msg.status, msg.attempts = "queued", attempts - 1
                msg.next_attempt_at = rt.now() + timedelta(seconds=delay)
            metrics.record(rt.redis, lambda p: metrics.count(
                p, "sathi_send_retries", channel=channel, reason="rate"))
            return Step("queued", retry=(delay, f"send-{message_id}-{attempts - 1}-rate-"
                                                f"{time.time_ns()}"))

    called = time.monotonic()
    result = adapter.send(outgoing)
    took = time.monotonic() - called

    with rt.db.session() as db:
        if unknown:  # read again: it was settled in a session of its own
            msg = db.get(Message, message_id)
        else:  # as claimed: under the person's turn, and with no sid yet nothing else writes it
            db.add(msg)
        now = rt.now()
        code = None if isinstance(result, (Sent, Unknown)) else result.code
        cause = result.cause if isinstance(result, Failed) else ""
        retry_reason = None
        if not isinstance(result, Sent):  # (a sent one is written by _record_sent)
            msg.updated_at = now
            row = DeliveryAttempt(message_id=msg.id, attempt=attempts, channel=channel, at=now,
                                  error_code=code)
        if isinstance(result, Sent):  # the row is left clean: nothing more to flush for it
            _record_sent(db, msg, attempts, now, result.sid)
            step = Step("sent")
            if _apply_early_status(rt, db, msg, now):
                reads.forget(msg.person_id)  # a report may have opted them out
        elif isinstance(result, Unknown):
            # the provider may have it: look it up once the lease is over, never re-send blind
            msg.next_attempt_at = now + RECONCILE_AFTER
            row.outcome = "unknown"
            db.add(row)
            retry_reason = "reconcile"
            step = Step("unknown", retry=(RECONCILE_AFTER.total_seconds() + RECONCILE_MARGIN,
                                          f"send-{message_id}-{attempts}-reconcile"))
        elif isinstance(result, RetryLater) and attempts < MAX_ATTEMPTS:
            delay = _backoff(result.after, attempts)
            msg.status, msg.error_code = "queued", code
            msg.next_attempt_at = now + timedelta(seconds=delay)
            row.outcome = "retry"
            db.add(row)
            retry_reason = "provider"
            step = Step("queued", retry=(delay, f"send-{message_id}-{attempts}"))
        elif (cause == OUTSIDE_SESSION and not templated
              and rt.settings.twilio_whatsapp_template_sid):
            msg.status, msg.error_code = "queued", code  # the template goes next, right now
            row.outcome = "template"
            db.add(row)
            step = Step("queued", then=message_id)
        else:
            msg.status, msg.error_code = "failed", code
            step = Step("failed")
            if cause == OPTED_OUT:
                _opt_out(db, msg, now)
            fallback = None
            if channel == "whatsapp" and cause != OPTED_OUT:
                fallback = _follow_up(db, msg, "fallback", now, code=code)
            if fallback is None:
                row.outcome = "failed"
                db.add(row)
            step.then = fallback
        if step.status != "sent":  # it may have changed them (21610)
            reads.forget(msg.person_id)
        log.info("message %s to %s: %s%s", message_id, mask(msg.address), step.status,
                 f" ({msg.error_code})" if msg.error_code else "")

    def count_it(pipe) -> None:
        metrics.count(pipe, "sathi_messages_out", channel=channel, status=step.status)
        metrics.observe(pipe, "sathi_send_seconds", took, channel=channel)
        if retry_reason:
            metrics.count(pipe, "sathi_send_retries", channel=channel, reason=retry_reason)

    if step.status == "sent":
        if _late_reports(rt, message_id, early_keys(msg), count_it):
            reads.forget(msg.person_id)
    else:
        metrics.record(rt.redis, count_it)
    return step


def _late_reports(rt: runtime.Runtime, message_id: int, keys: list[str], write) -> int:
    """The reports on a message whose send was just committed that came after the send took
    the early ones and before it committed (the webhook could not see the sid yet, so it
    kept them as early): taken and applied now, in the round trip that runs `write` (the
    send's metrics). How many there were."""
    try:
        late = _take_early(rt, keys, write)
    except Exception:  # Redis down: as for the metrics; any report stays kept as it was
        log.debug("late status reports not looked for", exc_info=True)
        return 0
    if late:
        with rt.db.session() as db:
            _apply_reports(db, db.get(Message, message_id), late, rt.now())
    return len(late)


def reconcile(rt: runtime.Runtime, message_id: int, outgoing: Outgoing,
              since: datetime, adapter=None) -> Step | None:
    """The reconciliation of an unknown send outcome, before anything is sent again: ask the
    provider whether it has the message (same recipient, sender and body, since the lost
    try began). Found: it was sent, and its sid is recorded. Not found: None, and the caller
    sends it. The provider cannot say: it is asked again later, with backoff, and after
    MAX_ATTEMPTS the message is left for a human (`failed`), never sent blind."""
    found = (adapter or rt.adapter(outgoing.channel)).lookup(outgoing, since)
    with rt.db.session() as db:
        msg = db.get(Message, message_id)
        now = rt.now()
        if isinstance(found, RetryLater):
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = "failed"
                db.add(DeliveryAttempt(message_id=msg.id, attempt=msg.attempts,
                                       channel=msg.channel, at=now, outcome="failed"))
                log.error("message %s to %s: its send's outcome could not be looked up after "
                          "%s tries; left for a human (status failed)", message_id,
                          mask(msg.address), msg.attempts)
                return Step("failed")
            delay = _backoff(found.after, msg.attempts)
            msg.next_attempt_at = now + timedelta(seconds=delay)  # still `sending`: unknown
            metrics.record(rt.redis, lambda p: metrics.count(
                p, "sathi_send_retries", channel=msg.channel, reason="reconcile"))
            return Step("unknown", retry=(delay + RECONCILE_MARGIN,
                                          f"send-{message_id}-{msg.attempts}-reconcile"))
        ours = set(db.execute(select(Message.provider_sid).where(
            Message.direction == "out", Message.provider_sid.in_(found))).scalars()) \
            if found else set()
        sid = next((s for s in found if s not in ours), None)
        if sid is None:
            log.info("message %s to %s: not at the provider; sending it", message_id,
                     mask(msg.address))
            return None
        msg.status, msg.provider_sid, msg.updated_at = "sent", sid, now
        db.add(DeliveryAttempt(message_id=msg.id, attempt=msg.attempts, channel=msg.channel,
                               at=now, outcome="reconciled", provider_sid=sid))
        db.flush()
        _apply_early_status(rt, db, msg, now)
        log.info("message %s to %s: found at the provider; sent once", message_id,
                 mask(msg.address))
    _late_reports(rt, message_id, early_keys(msg), lambda pipe: metrics.count(
        pipe, "sathi_messages_out", channel=outgoing.channel, status="sent"))
    return Step("sent")


def _refusal(msg: Message, person: Person | None) -> str | None:
    """Why `msg` must not go at all, or None: the person opted out (only the STOP
    confirmation and HELP's answer still go), or the address is no number."""
    if person is not None and person.opted_out and msg.key not in ALWAYS_SENT:
        return "suppressed"
    if not is_e164(msg.address):  # recorded as it came; never sent to
        return "failed"
    return None


def _refuse(msg: Message, person: Person | None) -> str | None:
    """`_refusal`, and the row marked so."""
    refused = _refusal(msg, person)
    if refused == "failed":
        log.warning("message %s: %s is not a phone number; not sent", msg.id, mask(msg.address))
    if refused:
        msg.status = refused
    return refused


def _apply_early_status(rt: runtime.Runtime, db: Session, msg: Message, now: datetime) -> int:
    """The status reports that arrived before we stored the sid, applied in the order they
    came (each one kept: "delivered" then a stale "undelivered" must not become a re-send).
    Returns how many there were."""
    return _apply_reports(db, msg, _take_early(rt, early_keys(msg)), now)


def _apply_reports(db: Session, msg: Message, reports: list[bytes], now: datetime) -> int:
    for report in reports:
        status, code = json.loads(report)
        _on_status(db, msg, status, code, now)
    return len(reports)


def _take_early(rt: runtime.Runtime, keys: list[str],
                write: Callable[[object], None] | None = None) -> list[bytes]:
    """The reports kept as early under `keys`, in key order and then arrival order, read and
    deleted in one MULTI (a report pushed meanwhile is read, not just deleted), with whatever
    `write` puts in the same round trip (a send's metrics)."""
    pipe = rt.redis.pipeline()
    if write is not None:
        write(pipe)
    first = len(pipe)
    for key in keys:
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
    try:
        return [item for got in pipe.execute()[first::2] for item in got]
    except redis.ResponseError:  # kept by an older version: one report, as a string
        return [one for one in map(rt.redis.getdel, keys) if one is not None]


def _count_out(rt: runtime.Runtime, channel: str, status: str) -> None:
    metrics.record(rt.redis, lambda p: metrics.count(p, "sathi_messages_out", channel=channel,
                                                     status=status))


def sweep() -> int:
    """RQ cron job: re-enqueue queued replies whose job was lost, and replies left `sending`
    past their lease (the worker died, or the answer was lost): their job reconciles them
    first. Returns how many."""
    rt = runtime.current()
    now = rt.now()
    with rt.db.session() as db:
        rows = db.execute(select(Message.id, Message.person_id).where(
            Message.direction == "out",
            ((Message.status == "queued") & (Message.next_attempt_at < now - SWEEP_GRACE))
            | ((Message.status == "sending") & (Message.next_attempt_at < now)))
            .order_by(Message.id)).all()
    by_person: dict[int | None, list[int]] = {}
    for mid, pid in rows:
        by_person.setdefault(pid, []).append(mid)
    for pid, ids in by_person.items():
        for batch in ([ids] if pid is not None else [[i] for i in ids]):
            enqueue(batch)
    return len(rows)


def early_key(sid: str) -> str:
    """Where the status callbacks that beat their send wait (in Redis, a list in arrival order)
    for the sid to be stored."""
    return f"sathi:early-status:{sid}"


def early_keys(msg: Message) -> list[str]:
    """Where reports on `msg` may wait: under its provider's id, and (a gateway that reports by
    the id we gave it) under our own."""
    keys = [early_key(msg.provider_sid)] if msg.provider_sid else []
    if msg.provider and msg.provider != "twilio":
        keys.append(early_key(ref_sid(msg.provider, msg.id)))
    return list(dict.fromkeys(keys))  # the same key when the gateway gave no id of its own


def ref_sid(provider: str, message_id: int) -> str:
    """How a report by our own message id is keyed: the sid a gateway that answers with no id
    of its own gets (channels.gateway: "<channel>:ref-<id>")."""
    return f"{provider}:ref-{message_id}"


def apply_report(report, deadline: float | None = None) -> bool:
    """A checked status report (intake.StatusReport) from any channel's webhook, applied;
    False when its message is not known (yet). Raises when the database or Redis is down:
    the caller (spool.take) keeps it for later."""
    rt = runtime.current()
    with rt.db.session(deadline=deadline) as db:
        known = record_status(db, report.sid, report.status, report.error_code, rt.now(),
                              ref=getattr(report, "ref", None))
    if not known:
        log.info("status %s for unknown message %s kept for its send", report.status,
                 report.sid)
    metrics.record(rt.redis, lambda p: metrics.count(
        p, "sathi_status_callbacks", status="applied" if known else "early"))
    return known


def record_status(db: Session, sid: str, status: str, error_code: int | None,
                  now: datetime, ref: int | None = None) -> bool:
    """A provider's status callback; False when no such message is known. A failure it
    reports may lead to a re-send or an SMS fallback, enqueued once `db` commits. A gateway
    that reports by our own id (`ref`; `sid` is then `ref_sid`) finds the message by it."""
    msg = _reported(db, sid, ref)
    if msg is None:
        # it may have beaten our own write of the sid: keep it for `send` to apply
        keep_early(sid, status, error_code)
        # the send may have committed, and looked for kept reports, since we looked: look
        # again now that it is kept (each side writes, then looks for the other's write)
        msg = _reported(db, sid, ref)
        if msg is None:
            return False
        _apply_reports(db, msg, _take_early(runtime.current(), [early_key(sid)]), now)
        return True
    _on_status(db, msg, status, error_code, now)
    return True


def _reported(db: Session, sid: str, ref: int | None) -> Message | None:
    """The message a report is on, once its send is recorded; None before."""
    msg = db.execute(select(Message).where(Message.direction == "out",
                                           Message.provider_sid == sid)).scalar_one_or_none()
    if msg is None and ref is not None:
        msg = db.execute(select(Message).where(
            Message.id == ref, Message.direction == "out",
            Message.provider == sid.split(":", 1)[0])).scalar_one_or_none()
        if msg is not None and msg.provider_sid is None:
            msg = None  # its send is not recorded yet: kept (by our id) for the send to apply
    return msg


def keep_early(sid: str, status: str, error_code: int | None) -> None:
    """Keep a report on a message whose send is not recorded yet, behind any kept before it."""
    pipe = runtime.current().redis.pipeline()
    pipe.rpush(early_key(sid), json.dumps([status, error_code]))
    pipe.expire(early_key(sid), EARLY_STATUS_TTL)
    pipe.execute()


def _on_status(db: Session, msg: Message, status: str, code: int | None, now: datetime) -> None:
    db.add(DeliveryAttempt(message_id=msg.id, attempt=msg.attempts, channel=msg.channel, at=now,
                           outcome="status", status=status[:16], error_code=code,
                           provider_sid=msg.provider_sid))
    advanced = _apply_status(msg, status, code, now)
    channel = msg.channel
    metrics.record(runtime.current().redis, lambda p: metrics.count(
        p, "sathi_messages_out", channel=channel, status=status))
    if status in DELIVERED and advanced:
        _cancel_follow_ups(db, msg, now)
        return
    if status not in FAILED:
        return
    failure = runtime.current().adapter(msg.channel, msg.provider).delivery_failure(code)
    if isinstance(failure, Failed) and failure.cause == OPTED_OUT:
        _opt_out(db, msg, now)
        return
    if not advanced:  # after the delivery, a repeat, or out of order: it changes nothing
        log.info("message %s to %s: %s reported while it is %s; nothing more is done",
                 msg.id, mask(msg.address), status, msg.status)
        return
    person = db.get(Person, msg.person_id) if msg.person_id else None
    if person is not None and person.opted_out:
        return  # nothing more to someone who asked for nothing more
    delay = 0.0
    if msg.channel == "whatsapp":
        follow = _follow_up(db, msg, "fallback", now, code=code)
    elif isinstance(failure, RetryLater) and msg.attempts < MAX_ATTEMPTS:
        delay = _backoff(failure.after, msg.attempts)
        follow = _follow_up(db, msg, "retry", now, code=code, delay=delay)
    else:
        return
    if follow is not None:
        _enqueue_after_commit(db, follow, delay)


def _follow_up(db: Session, msg: Message, outcome: str, now: datetime, *, code: int | None,
               delay: float = 0.0) -> int | None:
    """A new queued row carrying `msg` on: its SMS fallback ("fallback") or its re-send
    ("retry", which inherits the attempt count). None when `msg` already has one."""
    once = f"{'fallback' if outcome == 'fallback' else 'resend'}:{msg.id}"
    try:
        with db.begin_nested():
            new = queue_text(db, person=msg.person, address=msg.address,
                             channel="sms" if outcome == "fallback" else msg.channel,
                             key=msg.key, body=msg.body, now=now,
                             attempts=msg.attempts if outcome == "retry" else 0, delay=delay)
            if outcome == "retry":
                new.provider = msg.provider  # a re-send goes the way the message went
            db.add(DeliveryAttempt(message_id=msg.id, attempt=msg.attempts, channel=msg.channel,
                                   at=now, outcome=outcome, error_code=code,
                                   provider_sid=msg.provider_sid, related_message_id=new.id,
                                   once=once))
    except IntegrityError:
        return None
    log.info("message %s to %s: %s as message %s", msg.id, mask(msg.address), outcome, new.id)
    return new.id


def _enqueue_after_commit(db: Session, message_id: int, delay: float) -> None:
    def go(_session) -> None:
        try:
            if delay > 0:
                runtime.current().queue("outbound").enqueue_in(
                    timedelta(seconds=delay), send, [message_id], job_id=f"send-{message_id}-0")
            else:
                enqueue([message_id])
        except Exception:  # Redis down: the row is queued; `sweep` enqueues it later
            log.exception("could not enqueue message %s; it will be swept", message_id)

    event.listen(db, "after_commit", go, once=True)


def _apply_status(msg: Message, status: str, error_code: int | None, now: datetime) -> bool:
    """Move `msg` to `status` unless that would move it back; True when it moved forward.
    Callbacks can arrive out of order: never move a final state back to an earlier one; a
    status we do not know (it is kept in delivery_attempt) moves nothing, and a status of the
    same rank (a repeat; undelivered then failed) is kept but is no step forward."""
    if status not in STATUS_ORDER:
        return False
    rank, current = STATUS_ORDER[status], STATUS_ORDER.get(msg.status, 0)
    if rank >= current:
        msg.status = status
        msg.error_code = error_code
        msg.updated_at = now
    return rank > current


def _cancel_follow_ups(db: Session, msg: Message, now: datetime) -> None:
    """`msg` arrived after all: its re-send or fallback that has not gone yet never goes (a
    row being sent has been claimed, `sending`, and is left alone)."""
    follow_ups = select(DeliveryAttempt.related_message_id).where(
        DeliveryAttempt.message_id == msg.id, DeliveryAttempt.outcome.in_(("retry", "fallback")),
        DeliveryAttempt.related_message_id.is_not(None))
    cancelled = db.execute(update(Message).where(
        Message.id.in_(follow_ups), Message.status == "queued")
        .values(status=CANCELLED, updated_at=now)).rowcount
    if cancelled:
        log.info("message %s to %s: delivered after all; its follow-up is cancelled", msg.id,
                 mask(msg.address))
        channel = msg.channel
        metrics.record(runtime.current().redis, lambda p: metrics.count(
            p, "sathi_messages_out", channel=channel, status=CANCELLED))


def _opt_out(db: Session, msg: Message, now: datetime) -> None:
    person = db.get(Person, msg.person_id) if msg.person_id else None
    if person is not None and person.opted_out_at is None:
        person.opted_out_at = now
        log.info("person %s opted out at the provider", mask(person.phone))


def _backoff(after: float, attempts: int) -> float:
    return min(BACKOFF_CAP, after * 2 ** (attempts - 1))


def _template_tried(db: Session, message_id: int) -> bool:
    """True once this message was refused as free text: from then on it goes as the template
    (and a template refused too falls back to SMS)."""
    return db.execute(select(DeliveryAttempt.id).where(
        DeliveryAttempt.message_id == message_id,
        DeliveryAttempt.outcome == "template").limit(1)).first() is not None


def _template(settings: Settings, msg: Message, person: Person | None) -> Template | None:
    """The configured WhatsApp template filled from `msg`; None when none is usable.
    WhatsApp refuses a variable with a line break or a run of spaces: whitespace is folded."""
    values = {"body": " ".join(msg.body.split()),
              "name": " ".join(person.name.split()) if person else ""}
    try:
        mapping = json.loads(settings.whatsapp_template_variables)
        variables = {str(var): values[what] for var, what in mapping.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        log.error("SATHI_WHATSAPP_TEMPLATE_VARIABLES must be a JSON object mapping variables "
                  "to %s; the template is not sent", " or ".join(TEMPLATE_FIELDS))
        return None
    return Template(settings.twilio_whatsapp_template_sid, variables)


STOP_CONFIRMED = N_("keyword.stop_confirmed")
HELP = N_("keyword.help")
ALWAYS_SENT = {STOP_CONFIRMED, HELP}
"""Keys that go out to a person who has opted out: the confirmation of the STOP itself, and
the answer to a HELP they sent (it tells them how to come back)."""

STATUS_ORDER = {"queued": 1, "sending": 2, "accepted": 2, "sent": 3, "undelivered": 4,
                "failed": 4, "delivered": 5, "read": 6}
