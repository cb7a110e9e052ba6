"""What happens to a message in.

`receive` runs in the webhook: it records the message (once per provider sid) and enqueues
`handle`; that is all the webhook waits for. `handle` runs on a worker: keywords first (STOP,
START, HELP, from any point in any flow), then the person's flow, then the replies go to the
outbox. Claiming the message and writing its replies happen in one transaction, so a job that
runs twice, or a provider that retries, produces one set of replies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import assessment, engine, nlu, outbox, runtime, session
from .actions import ACTIONS, Context
from .events import ActionCalled, FieldSet, FlowEnded, InputExpected, MsgCreated
from .i18n import N_
from .logs import mask
from .models import CHANNELS, LANGUAGES, Answer, FlowRun, Message, Person
from .nlu import replies as nlu_replies
from .parse import number

log = logging.getLogger(__name__)

ONBOARDING = "onboarding"
STOP_CONFIRMED = outbox.STOP_CONFIRMED
START_CONFIRMED = N_("keyword.start_confirmed")
START_ALREADY = N_("keyword.start_already")
HELP = outbox.HELP
UNKNOWN_NUMBER = N_("common.unknown_number")
NO_FLOW = N_("common.no_flow")
SWEEP_MAX_ATTEMPTS = 5  # times a recorded message is re-enqueued before it is left for a human
UNKNOWN_REPLY_EVERY = timedelta(hours=24)  # an unknown number is told how to join once a day
CONTACT_FIELDS = {"language": LANGUAGES, "channel": CHANNELS}  # what a flow may set on a person


@dataclass(frozen=True)
class Incoming:
    sid: str
    channel: str  # sms | whatsapp
    sender: str  # E.164, without whatsapp:
    body: str


def receive(db: Session, inc: Incoming, now: datetime) -> Message | None:
    """Record an inbound message; None when this provider sid was already recorded."""
    person = db.execute(select(Person).where(Person.phone == inc.sender)).scalar_one_or_none()
    msg = Message(direction="in", channel=inc.channel, person_id=person.id if person else None,
                  address=inc.sender, provider_sid=inc.sid, body=inc.body, status="received",
                  attempts=0, created_at=now, updated_at=now)
    try:
        with db.begin_nested():
            db.add(msg)
    except IntegrityError:
        return None
    return msg


def accept(inc: Incoming) -> bool:
    """The webhook's whole job: record durably, then enqueue. False for a duplicate."""
    rt = runtime.current()
    with rt.db.session() as db:
        msg = receive(db, inc, rt.now())
    if msg is None:
        log.info("duplicate %s from %s ignored", inc.sid, mask(inc.sender))
        return False
    try:
        rt.queue("inbound").enqueue(handle, msg.id, job_id=f"in-{msg.id}", retry=session.BUSY_RETRY)
    except Exception:  # Redis down: the message is recorded; `sweep` enqueues it later
        log.exception("could not enqueue inbound message %s; it will be swept", msg.id)
    return True


def handle(message_id: int) -> int:
    """RQ job: act on an inbound message. Returns how many replies it queued.

    Under the person's lock, their oldest unhandled message goes first, so "1" then "2" is
    never applied as "2" then "1" even when two workers or a retried job race each other.
    """
    rt = runtime.current()
    with rt.db.session() as db:
        person_id = db.execute(select(Message.person_id).where(Message.id == message_id)).scalar()
    if person_id is None:  # an unknown number: no turn to keep in order
        return _handle_one(rt, message_id)
    total = 0
    with session.locked(rt.redis, person_id):
        while True:
            with rt.db.session() as db:
                oldest = db.execute(select(Message.id).where(
                    Message.person_id == person_id, Message.direction == "in",
                    Message.status == "received", Message.id <= message_id)
                    .order_by(Message.id).limit(1)).scalar()
            if oldest is None:
                return total
            total += _handle_one(rt, oldest)


def _handle_one(rt: runtime.Runtime, message_id: int) -> int:
    """Claim one message and act on it; the claim and the replies commit together."""
    with rt.db.session() as db:
        claimed = db.execute(update(Message).where(Message.id == message_id,
                                                   Message.status == "received")
                             .values(status="handled", updated_at=rt.now())).rowcount
        if not claimed:
            return 0
        turn = Turn(db, db.get(Message, message_id), rt.now())
        turn.run()
        queued = [m.id for m in turn.replies]
    outbox.enqueue(queued)
    return len(queued)


class Turn:
    """One inbound message acted on: keywords, then the flow. Collects replies to send."""

    def __init__(self, db: Session, msg: Message | None, now: datetime,
                 person: Person | None = None, channel: str | None = None):
        """A turn answers `msg`; a turn we begin ourselves (a campaign, a timeout) has no
        message and speaks to `person` on `channel`."""
        self.rt = runtime.current()
        self.db, self.msg, self.now = db, msg, now
        if msg is not None:
            self.person = db.get(Person, msg.person_id) if msg.person_id else None
            self.address, self.channel = msg.address, msg.channel
        else:
            self.person, self.address, self.channel = person, person.phone, channel
        self.replies: list[Message] = []
        self.run_fields: dict = {}  # the active run's fields, which messages may name: {title}

    def run(self) -> None:
        person, text = self.person, self.msg.body
        kind = self.rt.keywords.match(text)
        if person is None:
            if kind != "stop":  # a stranger's STOP is honoured by saying nothing
                self._unknown()
            return
        if kind == "stop":
            if person.opted_out_at is None:
                person.opted_out_at = self.now
                self._interrupt()
                self.say(STOP_CONFIRMED)
        elif kind == "help":
            self.say(HELP)
        elif person.opted_out:
            if kind == "start":
                person.opted_out_at = None
                if person.onboarded_at is None:
                    self.start_flow(ONBOARDING)
                else:
                    self.say(START_CONFIRMED)
            # anything else from an opted-out person is recorded and left unanswered
        elif kind == "start" and person.onboarded_at is not None:
            self.say(START_ALREADY)
        elif kind == "start":
            self.start_flow(ONBOARDING)
        else:
            run = session.active_run(self.db, person.id)
            in_assessment = run is not None and run.flow == assessment.FLOW
            entry = (assessment.read(text, self.rt.levels, in_flow=in_assessment)
                     if person.role in assessment.ROLES else None)
            if entry is not None:  # "A 2 3 1 1 0" from anywhere: unambiguous, so it interrupts
                self.start_flow(assessment.FLOW, entry.fields(self.rt.levels))
                return
            num = number(text)
            if num is None and in_assessment:  # "dui" answers a guided question as 2 would
                num = assessment.number_word(text, self.rt.levels)
            # free text (not a keyword, not a number) goes through NLU; None when unsure
            heard = nlu.understand(self.rt, text) if num is None and text.strip() else None
            if run is not None:
                flow = self.rt.flows[run.flow]
                inp = engine.Input(text=text, number=num, intent=heard.intent if heard else None)
                new_session, events = engine.resume(flow, run.session, inp, self.now)
                if nlu_replies.takes_over(heard, events):  # the flow keeps waiting as it was
                    nlu_replies.respond(self, heard)
                else:
                    self.apply(run, new_session, events)
            elif person.onboarded_at is None:
                self.start_flow(ONBOARDING)
            elif heard is not None:
                nlu_replies.respond(self, heard)
            else:
                self.say(NO_FLOW)

    def say(self, key: str, language: str | None = None) -> None:
        person = self.person
        language = language or (person.language if person else "bn")
        params = {**self.run_fields, "name": person.name} if person else {}
        body = self.rt.catalogues.text(key, language, **params)
        self.replies.append(outbox.queue_text(
            self.db, person=person, address=self.address, channel=self.channel,
            key=key, body=body, now=self.now))

    def _unknown(self) -> None:
        since = self.now - UNKNOWN_REPLY_EVERY
        told = self.db.execute(select(Message.id).where(
            Message.direction == "out", Message.address == self.address,
            Message.key == UNKNOWN_NUMBER, Message.created_at >= since).limit(1)).first()
        if told is None:
            self.say(UNKNOWN_NUMBER, language="bn")

    def start_flow(self, flow_id: str, fields: dict | None = None) -> FlowRun:
        """Start a flow; whatever run was active ends, so a person never has two waiting."""
        flow = self.rt.flows[flow_id]
        p = self.person
        contact = {"name": p.name, "role": p.role, "language": p.language, "channel": p.channel}
        new_session, events = engine.start(flow, contact, self.channel, self.now, fields)
        if new_session["status"] == "waiting":
            self._interrupt()  # a flow that only says something leaves the active one be
        run = FlowRun(person_id=p.id, flow=flow.id, status=session.ACTIVE, session=new_session,
                      started_at=self.now)
        self.db.add(run)
        self.db.flush()
        self.apply(run, new_session, events)
        return run

    def _interrupt(self) -> None:
        run = session.active_run(self.db, self.person.id)
        if run is not None:
            session.end(run, "interrupted", self.now)

    def apply(self, run: FlowRun, new_session: dict, events) -> None:
        """Act on the engine's events, in order: fields, answers, actions, replies."""
        run.session = new_session
        self.run_fields = new_session["fields"]
        ctx = Context(db=self.db, person=self.person, run=run, now=self.now)
        for ev in events:
            if isinstance(ev, MsgCreated):
                self.say(ev.key)
            elif isinstance(ev, FieldSet):
                self._set(run, ev.name, ev.value)
            elif isinstance(ev, ActionCalled):
                computed = ACTIONS[ev.name](ctx, **ev.args)
                if computed:  # fields an action works out, for the messages after it to name
                    self.run_fields = {**self.run_fields, **computed}
                    run.session = {**run.session, "fields": self.run_fields}
            elif isinstance(ev, InputExpected):
                run.timeout_at = ev.timeout_at
                if ev.until and ev.timeout_at is None and self.run_fields.get(ev.until):
                    # the deadline an action in this turn worked out (snooze: "ask me later")
                    run.timeout_at = datetime.fromisoformat(self.run_fields[ev.until])
                    run.session = {**run.session, "timeout_at": run.timeout_at.isoformat()}
            elif isinstance(ev, FlowEnded):
                session.end(run, ev.status, self.now)

    def _set(self, run: FlowRun, name: str, value) -> None:
        if name.startswith("contact."):
            field = name.removeprefix("contact.")
            allowed = CONTACT_FIELDS.get(field)
            if allowed is None or value not in allowed:
                raise ValueError(f"flow {run.flow} cannot set {name} to {value!r}")
            setattr(self.person, field, value)
        else:
            self.db.add(Answer(run_id=run.id, field=name, value=str(value), created_at=self.now))


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
            queued = [m.id for m in turn.replies]
        outbox.enqueue(queued)
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
        q.enqueue(handle, mid, job_id=f"in-{mid}", retry=session.BUSY_RETRY)
    return len(ids)
