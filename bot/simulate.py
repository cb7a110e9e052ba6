"""Chat as a rostered person through the same path as Twilio or a local gateway: record,
worker, outbox.

`sathi simulate` builds an offline runtime: replies are routed as in production (so a reply
shows the gateway it would take) but stay in the local outbox. The console's phone simulator
runs inside the web app beside real requests, so it uses a `Simulator`: a view of the running
service (the same database, Redis, flows, content and clock) whose outbound adapters are the
simulator's (bot/channels/simulator.py), whose jobs go to queues of its own that the request
drains itself, and which `runtime.using` makes current for that request's thread only.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from rq import Queue, SimpleWorker
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import select

from . import runtime
from .campaigns import due, fanout
from .channels import simulator as channel
from .msgs import inbound, outbox
from .store.models import CampaignRun, Message, Person

WAIT = 15.0  # seconds to wait for a turn's replies


@dataclass(frozen=True)
class Reply:
    channel: str
    segments: int
    body: str
    status: str
    provider: str | None = None  # the gateway it would go out on, or twilio / loopback


class QuietWorker(SimpleWorker):
    """RQ's in-process worker without its commands channel: RQ's pub/sub thread for worker
    commands waits up to a minute for its next message before it notices it should stop, and a
    drain (a simulated turn, a test's `work()`) would wait for it each time. Nothing sends
    commands to a worker that lives for one drain."""

    def subscribe(self):
        pass

    def unsubscribe(self):
        pass


class ThreadWorker(QuietWorker):
    """A QuietWorker for any thread (a web request's): no signal handlers (only the main
    thread may set them), job timeouts by timer instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


def drain(rt: runtime.Runtime, worker_class=QuietWorker) -> None:
    """Run every queued job to the end, in this process, on real RQ queues."""
    worker = worker_class([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
    worker.work(burst=True, logging_level="WARNING")
    for name in runtime.QUEUES if rt.queue_prefix else ():  # the simulator's own, now empty
        rt.queue(name).delete(delete_jobs=True)


def say(rt: runtime.Runtime, phone: str, text: str, channel: str = "sms",
        worker_class=QuietWorker) -> list[Reply]:
    """Send `text` as `phone` would and return the replies it caused, in order. `channel` is
    sms or whatsapp (as through Twilio) or a gateway of the channels file (an SMS to it)."""
    with rt.db.session() as db:
        last = db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar() or 0
    if channel in rt.gateways:  # texted to the gateway's number
        sid = f"{channel}:SIM{uuid.uuid4().hex}"
        inc = inbound.Incoming(sid=sid, channel="sms", sender=phone, body=text, provider=channel)
    else:
        sid = f"SIM{uuid.uuid4().hex}"
        inc = inbound.Incoming(sid=sid, channel=channel, sender=phone, body=text,
                               provider=getattr(rt, "inbound_provider", "twilio"))
    inbound.accept(inc)
    return _replies(rt, phone, last, worker_class,
                    lambda db: db.execute(select(Message.status).where(
                        Message.direction == "in", Message.provider_sid == sid)).scalar()
                    == "handled")


def _replies(rt, phone: str, last: int, worker_class, done) -> list[Reply]:
    """Drain the jobs until `done(db)` and no reply to `phone` after message `last` is pending
    (a retried job may finish a little later); the replies, in order."""
    deadline = time.monotonic() + WAIT
    while True:
        drain(rt, worker_class)
        with rt.db.session() as db:
            handled = done(db)
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


class Simulator:
    """The running service as the console's simulator sees it: everything of `rt` but where
    messages and calls go (the simulator's adapters), which queues its jobs take (its own,
    drained by the request) and which gateways exist (none: every reply goes to the page).
    Make it current for a request's thread with `runtime.using(sim)`; other threads, the
    workers and cron keep the real runtime."""

    offline = True  # no status callback URL is given to anyone
    default_provider = channel.NAME
    inbound_provider = channel.NAME  # what a message typed in the page came in on
    gateways: dict = {}

    def __init__(self, rt: runtime.Runtime):
        self._rt = rt
        self.queue_prefix = f"simulator-{uuid.uuid4().hex[:12]}-"
        self.messages = channel.SimulatorAdapter()
        self.calls = channel.SimulatorVoiceAdapter()

    def __getattr__(self, name):
        return getattr(self._rt, name)

    def queue(self, name: str = "default") -> Queue:
        return Queue(self.queue_prefix + name, connection=self._rt.redis)

    def adapter(self, channel_name: str, provider: str | None = None):
        return self.messages

    def voice(self):
        return self.calls

    def drain(self) -> None:
        with runtime.using(self):
            drain(self, ThreadWorker)

    # -- a conversation ------------------------------------------------------------------------
    def say(self, phone: str, text: str, channel_name: str = "sms") -> list[Reply]:
        """`text` typed in the page as `phone`, through the inbound path; the replies."""
        with runtime.using(self):
            replies = say(self, phone, text, channel_name, ThreadWorker)
        return self._delivered(replies)

    def campaign(self, phone: str, name: str) -> tuple[str, list[Reply]]:
        """This week's `name` campaign for `phone` alone, now, as cron's fan-out delivers it:
        (what came of it: sent, skipped:<why>, calling, had:<status>, none; the replies)."""
        rt = self._rt
        now = rt.now()
        campaign = rt.campaigns[name]
        period = campaign.period_for_week(rt.calendar, rt.calendar.week_of(now))
        with rt.db.session() as db:
            person = db.execute(select(Person).where(Person.phone == phone)).scalar_one_or_none()
            if person is None or period is None:
                return "none", []
            had = db.execute(select(CampaignRun.status).where(
                CampaignRun.campaign == name, CampaignRun.week == period,
                CampaignRun.person_id == person.id)).scalar()
            if had is not None:  # the week's one is planned or gone already: never twice
                return f"had:{had}", []
            row = CampaignRun(campaign=name, week=period, person_id=person.id, status="planned",
                              planned_at=now)
            db.add(row)
            db.flush()
            row_id = row.id
            claim = due.hold(db, [[row_id]], now)[0]  # claimed, as dispatch hands it over
            last = db.execute(select(Message.id).order_by(Message.id.desc()).limit(1)).scalar() or 0
        with runtime.using(self):
            fanout.deliver([row_id], claim=claim)
            replies = _replies(self, phone, last, ThreadWorker, lambda db: True)
        with rt.db.session() as db:
            row = db.get(CampaignRun, row_id)
            outcome = row.status + (f":{row.note}" if row.status == "skipped" else "")
        return outcome, self._delivered(replies)

    def _delivered(self, replies: list[Reply]) -> list[Reply]:
        """The page showed them: each reply the simulator took is marked delivered, through the
        outbox's own status path (as a provider's delivery report would)."""
        taken = [sid for sid, _ in self.messages.taken]
        self.messages.taken.clear()
        if taken:
            with runtime.using(self), self._rt.db.session() as db:
                for sid in taken:
                    outbox.record_status(db, sid, "delivered", None, self._rt.now())
        return [Reply(r.channel, r.segments, r.body,
                      "delivered" if r.status == "sent" and r.provider == channel.NAME
                      else r.status, r.provider) for r in replies]

