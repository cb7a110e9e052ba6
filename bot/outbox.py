"""What happens to a message out: rendered and stored, then sent by a worker.

A message is written to the database as `queued` in the same transaction as whatever caused it;
after that commit one `send` job takes the turn's replies, in order. Under the person's turn lock
the job claims each row (so no reply goes twice), checks the opt-out (so nothing queued before a
STOP goes out after it, and no STOP can slip in between the check and the send) and sends it.
A reply the provider defers is retried later together with the ones behind it, keeping order.
Rows whose job was lost (Redis down at the wrong moment) are found by `sweep`.
"""
from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import runtime, session
from .channels.base import Failed, Outgoing, RetryLater, Sent
from .channels.segments import count
from .channels.twilio_messaging import UNSUBSCRIBED
from .i18n import N_
from .logs import mask
from .models import Message, Person

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # sends tried before a message is marked failed
BACKOFF_CAP = 600.0  # seconds; retry delays double from the provider's hint up to this
SWEEP_GRACE = timedelta(minutes=2)  # a queued reply this late past its due time lost its job
EARLY_STATUS_TTL = 3600  # seconds a status callback that beat its send is kept in Redis


def queue_text(db: Session, *, person: Person | None, address: str, channel: str, key: str,
               body: str, now: datetime) -> Message:
    """Store one outbound message as queued; the caller enqueues it after commit."""
    msg = Message(direction="out", channel=channel, person_id=person.id if person else None,
                  address=address, body=body, key=key, segments=count(body).segments,
                  status="queued", attempts=0, next_attempt_at=now, created_at=now,
                  updated_at=now)
    db.add(msg)
    db.flush()
    return msg


def enqueue(message_ids: list[int]) -> None:
    """One job for one turn's replies, so they leave in the order they were written."""
    if message_ids:
        runtime.current().queue("outbound").enqueue(send, list(message_ids), retry=session.BUSY_RETRY,
                                                    job_id=f"send-{message_ids[0]}-0")


def send(message_ids: list[int]) -> list[str]:
    """RQ job: send queued messages (one person's, in order). Returns each one's new status."""
    rt = runtime.current()
    with rt.db.session() as db:
        person_id = db.execute(select(Message.person_id)
                               .where(Message.id == message_ids[0])).scalar()
    statuses: list[str] = []
    with session.locked(rt.redis, person_id) if person_id else nullcontext():
        for i, mid in enumerate(message_ids):
            status, retry = _send_one(rt, mid)
            statuses.append(status)
            if retry is not None:  # this one and those behind it wait, to keep their order
                delay, attempts = retry
                rt.queue("outbound").enqueue_in(timedelta(seconds=delay), send, message_ids[i:],
                                                job_id=f"send-{mid}-{attempts}")
                break
    return statuses


def _send_one(rt: runtime.Runtime, message_id: int) -> tuple[str, tuple[float, int] | None]:
    """(new status, (seconds to wait, attempts so far) when it is to be retried, else None)."""
    now = rt.now()
    with rt.db.session() as db:
        claimed = db.execute(
            update(Message).where(Message.id == message_id, Message.status == "queued")
            .values(status="sending", updated_at=now, attempts=Message.attempts + 1)
        ).rowcount
        if not claimed:
            return "skipped", None
        msg = db.get(Message, message_id)
        person = db.get(Person, msg.person_id) if msg.person_id else None
        if person is not None and person.opted_out and msg.key not in ALWAYS_SENT:
            msg.status = "suppressed"
            return msg.status, None
        outgoing = Outgoing(to=msg.address, channel=msg.channel, body=msg.body,
                            status_callback=rt.status_callback_url()
                            if rt.settings.twilio_enabled else None)
        attempts = msg.attempts

    result = rt.adapter(msg.channel).send(outgoing)

    retry = None
    with rt.db.session() as db:
        msg = db.get(Message, message_id)
        msg.updated_at = now = rt.now()
        if isinstance(result, Sent):
            msg.status, msg.provider_sid = "sent", result.sid
            early = rt.redis.getdel(_early_key(result.sid))
            if early is not None:  # a status callback that arrived before we stored the sid
                status, code = json.loads(early)
                _apply_status(msg, status, code, now)
        elif isinstance(result, RetryLater) and attempts < MAX_ATTEMPTS:
            delay = min(BACKOFF_CAP, result.after * 2 ** (attempts - 1))
            retry = (delay, attempts)
            msg.status, msg.error_code = "queued", result.code
            msg.next_attempt_at = now + timedelta(seconds=delay)
        else:
            msg.status, msg.error_code = "failed", result.code
            if isinstance(result, Failed) and result.code == UNSUBSCRIBED and msg.person_id:
                person = db.get(Person, msg.person_id)
                if person.opted_out_at is None:
                    person.opted_out_at = now
        log.info("message %s to %s: %s%s", message_id, mask(msg.address), msg.status,
                 f" ({msg.error_code})" if msg.error_code else "")
        return msg.status, retry


def sweep() -> int:
    """RQ cron job: re-enqueue queued replies whose job was lost. Returns how many."""
    rt = runtime.current()
    with rt.db.session() as db:
        rows = db.execute(select(Message.id, Message.person_id).where(
            Message.direction == "out", Message.status == "queued",
            Message.next_attempt_at < rt.now() - SWEEP_GRACE).order_by(Message.id)).all()
    by_person: dict[int | None, list[int]] = {}
    for mid, pid in rows:
        by_person.setdefault(pid, []).append(mid)
    for pid, ids in by_person.items():
        for batch in ([ids] if pid is not None else [[i] for i in ids]):
            enqueue(batch)
    return len(rows)


def _early_key(sid: str) -> str:
    return f"sathi:early-status:{sid}"


def record_status(db: Session, sid: str, status: str, error_code: int | None,
                  now: datetime) -> bool:
    """A provider's status callback; False when no such message is known."""
    msg = db.execute(select(Message).where(Message.direction == "out",
                                           Message.provider_sid == sid)).scalar_one_or_none()
    if msg is None:
        # it may have beaten our own write of the sid: keep it for `send` to apply
        runtime.current().redis.set(_early_key(sid), json.dumps([status, error_code]),
                                    ex=EARLY_STATUS_TTL)
        return False
    _apply_status(msg, status, error_code, now)
    return True


def _apply_status(msg: Message, status: str, error_code: int | None, now: datetime) -> None:
    # callbacks can arrive out of order: never move a final state back to an earlier one
    if STATUS_ORDER.get(status, 0) >= STATUS_ORDER.get(msg.status, 0):
        msg.status = status
        msg.error_code = error_code
        msg.updated_at = now


STOP_CONFIRMED = N_("keyword.stop_confirmed")
HELP = N_("keyword.help")
ALWAYS_SENT = {STOP_CONFIRMED, HELP}
"""Keys that go out to a person who has opted out: the confirmation of the STOP itself, and
the answer to a HELP they sent (it tells them how to come back)."""

STATUS_ORDER = {"queued": 1, "sending": 2, "accepted": 2, "sent": 3, "undelivered": 4,
                "failed": 4, "delivered": 5, "read": 6}
