"""What happens to a message out: rendered and stored, then sent by a worker.

A message is written to the database as `queued` in the same transaction as whatever caused it,
then a `send` job takes it. The job claims the row first, so two workers never send it twice,
and checks the opt-out at send time, so nothing queued before a STOP goes out after it.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import runtime
from .channels.base import Failed, Outgoing, RetryLater, Sent
from .channels.segments import count
from .channels.twilio_messaging import UNSUBSCRIBED
from .i18n import N_
from .logs import mask
from .models import Message, Person

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # sends tried before a message is marked failed
BACKOFF_CAP = 600.0  # seconds; retry delays double from the provider's hint up to this


def queue_text(db: Session, *, person: Person | None, address: str, channel: str, key: str,
               body: str, now: datetime) -> Message:
    """Store one outbound message as queued; the caller enqueues it after commit."""
    msg = Message(direction="out", channel=channel, person_id=person.id if person else None,
                  address=address, body=body, key=key, segments=count(body).segments,
                  status="queued", attempts=0, created_at=now, updated_at=now)
    db.add(msg)
    db.flush()
    return msg


def enqueue(message_ids: list[int]) -> None:
    q = runtime.current().queue("outbound")
    for mid in message_ids:
        q.enqueue(send, mid, job_id=f"send-{mid}-0")


def send(message_id: int) -> str:
    """RQ job: send one queued message through its channel's adapter. Returns its new status."""
    rt = runtime.current()
    now = rt.now()
    with rt.db.session() as db:
        claimed = db.execute(
            update(Message).where(Message.id == message_id, Message.status == "queued")
            .values(status="sending", updated_at=now, attempts=Message.attempts + 1)
        ).rowcount
        if not claimed:
            return "skipped"
        msg = db.get(Message, message_id)
        person = db.get(Person, msg.person_id) if msg.person_id else None
        if person is not None and person.opted_out and msg.key not in ALWAYS_SENT:
            msg.status = "suppressed"
            return msg.status
        outgoing = Outgoing(to=msg.address, channel=msg.channel, body=msg.body,
                            status_callback=rt.status_callback_url()
                            if rt.settings.twilio_enabled else None)
        attempts = msg.attempts

    result = rt.adapter(msg.channel).send(outgoing)

    with rt.db.session() as db:
        msg = db.get(Message, message_id)
        msg.updated_at = rt.now()
        if isinstance(result, Sent):
            msg.status, msg.provider_sid = "sent", result.sid
        elif isinstance(result, RetryLater) and attempts < MAX_ATTEMPTS:
            msg.status, msg.error_code = "queued", result.code
            delay = min(BACKOFF_CAP, result.after * 2 ** (attempts - 1))
            rt.queue("outbound").enqueue_in(_seconds(delay), send, message_id,
                                            job_id=f"send-{message_id}-{attempts}")
        else:
            msg.status, msg.error_code = "failed", result.code
            if isinstance(result, Failed) and result.code == UNSUBSCRIBED and msg.person_id:
                person = db.get(Person, msg.person_id)
                if person.opted_out_at is None:
                    person.opted_out_at = msg.updated_at
        log.info("message %s to %s: %s%s", message_id, mask(msg.address), msg.status,
                 f" ({msg.error_code})" if msg.error_code else "")
        return msg.status


def record_status(db: Session, sid: str, status: str, error_code: int | None,
                  now: datetime) -> bool:
    """A provider's status callback; False when no such message is known."""
    msg = db.execute(select(Message).where(Message.direction == "out",
                                           Message.provider_sid == sid)).scalar_one_or_none()
    if msg is None:
        return False
    # callbacks can arrive out of order: never move a final state back to an earlier one
    if STATUS_ORDER.get(status, 0) >= STATUS_ORDER.get(msg.status, 0):
        msg.status = status
        msg.error_code = error_code
        msg.updated_at = now
    return True


def _seconds(value: float):
    from datetime import timedelta

    return timedelta(seconds=value)


STOP_CONFIRMED = N_("keyword.stop_confirmed")
HELP = N_("keyword.help")
ALWAYS_SENT = {STOP_CONFIRMED, HELP}
"""Keys that go out to a person who has opted out: the confirmation of the STOP itself, and
the answer to a HELP they sent (it tells them how to come back)."""

STATUS_ORDER = {"queued": 1, "sending": 2, "accepted": 2, "sent": 3, "undelivered": 4,
                "failed": 4, "delivered": 5, "read": 6}
