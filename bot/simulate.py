"""Chat as a rostered person through the same path as Twilio or a local gateway: record,
worker, outbox. The runtime is offline: replies are routed as in production (so a reply shows
the gateway it would take) but stay in the local outbox."""
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
    provider: str | None = None  # the gateway it would go out on, or twilio / loopback


def drain(rt: runtime.Runtime) -> None:
    """Run every queued job to the end, in this process, on real RQ queues."""
    worker = SimpleWorker([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
    worker.work(burst=True, logging_level="WARNING")
    for name in runtime.QUEUES if rt.queue_prefix else ():  # the simulator's own, now empty
        rt.queue(name).delete(delete_jobs=True)


def say(rt: runtime.Runtime, phone: str, text: str, channel: str = "sms") -> list[Reply]:
    """Send `text` as `phone` would and return the replies it caused, in order. `channel` is
    sms or whatsapp (as through Twilio) or a gateway of the channels file (an SMS to it)."""
    with rt.db.session() as db:
        last = db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar() or 0
    if channel in rt.gateways:  # texted to the gateway's number
        sid = f"{channel}:SIM{uuid.uuid4().hex}"
        inc = inbound.Incoming(sid=sid, channel="sms", sender=phone, body=text, provider=channel)
    else:
        sid = f"SIM{uuid.uuid4().hex}"
        inc = inbound.Incoming(sid=sid, channel=channel, sender=phone, body=text)
    inbound.accept(inc)
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
            return [Reply(m.channel, m.segments or 0, m.body, m.status, m.provider) for m in rows]
        time.sleep(0.1)


def format_reply(reply: Reply, gateways=()) -> str:
    """'[sms · 2 segments] …', or '[sms via phone · 1 segment] …' for a reply a gateway of
    the channels file would carry."""
    unit = "segment" if reply.segments == 1 else "segments"
    via = f" via {reply.provider}" if reply.provider in gateways else ""
    return f"[{reply.channel}{via} · {reply.segments} {unit}] {reply.body}"
