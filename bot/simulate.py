"""Chat as a rostered person through the same path as Twilio: record, worker, outbox."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from rq import SimpleWorker
from sqlalchemy import select

from . import runtime
from .msgs import inbound
from .store.models import Message

WAIT = 15.0  # seconds to wait for a turn's replies


@dataclass(frozen=True)
class Reply:
    channel: str
    segments: int
    body: str
    status: str


def drain(rt: runtime.Runtime) -> None:
    """Run every queued job to the end, in this process, on real RQ queues."""
    worker = SimpleWorker([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
    worker.work(burst=True, logging_level="WARNING")
    for name in runtime.QUEUES if rt.queue_prefix else ():  # the simulator's own, now empty
        rt.queue(name).delete(delete_jobs=True)


def say(rt: runtime.Runtime, phone: str, text: str, channel: str = "sms") -> list[Reply]:
    """Send `text` as `phone` would and return the replies it caused, in order."""
    with rt.db.session() as db:
        last = db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar() or 0
    sid = f"SIM{uuid.uuid4().hex}"
    inbound.accept(inbound.Incoming(sid=sid, channel=channel, sender=phone, body=text))
    # wait until the turn is done (a retried job may finish a little later)
    deadline = time.monotonic() + WAIT
    while True:
        drain(rt)
        with rt.db.session() as db:
            handled = db.execute(select(Message.status).where(
                Message.direction == "in", Message.provider_sid == sid)).scalar() == "handled"
            rows = db.execute(select(Message).where(Message.id > last, Message.direction == "out",
                                                    Message.address == phone)
                              .order_by(Message.id)).scalars().all()
        pending = any(m.status in ("queued", "sending") for m in rows)
        if (handled and not pending) or time.monotonic() > deadline:
            return [Reply(m.channel, m.segments or 0, m.body, m.status) for m in rows]
        time.sleep(0.1)


def format_reply(reply: Reply) -> str:
    unit = "segment" if reply.segments == 1 else "segments"
    return f"[{reply.channel} · {reply.segments} {unit}] {reply.body}"
