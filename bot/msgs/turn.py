"""One turn of a person's conversation: an inbound message acted on, or a turn we begin.

Keywords first (STOP, START, HELP, from any point in any flow), then compact assessment entry,
numbers, free text through NLU, and the person's flow. The engine's events become fields,
answers, action calls and replies, all written in the caller's transaction; the caller sends
`replies` to the outbox after it commits. Campaigns and timeouts begin turns without a message.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import nlu, runtime
from ..assessment import entry as assessment
from ..contacts import consent
from ..contacts.phones import is_e164
from ..flows import engine
from ..flows.actions import Context
from ..flows.events import ActionCalled, FieldSet, FlowEnded, InputExpected, MsgCreated
from ..i18n import N_
from ..parse import number
from ..store.models import CHANNELS, LANGUAGES, Answer, FlowRun, Message, Person
from . import abuse, outbox, replies, session, understood

ONBOARDING = "onboarding"
STOP_CONFIRMED = outbox.STOP_CONFIRMED
START_CONFIRMED = N_("keyword.start_confirmed")
START_ALREADY = N_("keyword.start_already")
HELP = outbox.HELP
UNKNOWN_NUMBER = N_("common.unknown_number")
NO_FLOW = N_("common.no_flow")
SLOW_DOWN = N_("common.slow_down")  # the first message held back in a flood
PAUSED = N_("common.paused")  # replies to this number stop for a while: a reply loop
UNKNOWN_REPLY_EVERY = timedelta(hours=24)  # an unknown number is told how to join once a day
CONTACT_FIELDS = {"language": LANGUAGES, "channel": CHANNELS}  # what a flow may set on a person
OBSTACLE_CLASSIFIER = "obstacle"  # bot.nlu.<this>(rt, text) codes a free-text obstacle (issue 17)


_UNREAD = object()


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
        self._active: FlowRun | None | object = _UNREAD  # active_run's answer, until apply

    def active_run(self) -> FlowRun | None:
        """The person's active run, read once a turn until `apply` acts on a flow (its events
        may end it, or an action may start another)."""
        if self._active is _UNREAD:
            self._active = session.active_run(self.db, self.person.id)
        return self._active

    def is_stop(self) -> bool:
        return self.msg is not None and self.rt.keywords.match(self.msg.body) == "stop"

    def run(self) -> None:
        person, text = self.person, self.msg.body
        kind = self.rt.keywords.match(text)
        if not is_e164(self.address):
            return  # recorded as it came; nothing is ever sent to an address that is no number
        if kind in ("start", "help") and person is not None and not person.opted_out \
                and self._flow_option(text):
            kind = None  # "শুরু" answering a level question is the flow's option, not START
        if person is None:
            if kind != "stop":  # a stranger's STOP is honoured by saying nothing
                self._unknown()
            return
        if kind == "stop":
            self.opt_out()
        elif kind == "help":
            self.say(HELP)
        elif person.opted_out:
            if kind == "start":
                self.opt_in()
            # anything else from an opted-out person is recorded and left unanswered
        elif kind == "start" and person.onboarded_at is not None:
            self.say(START_ALREADY)
        elif kind == "start":
            self._onboard()
        else:
            run = self.active_run()
            in_assessment = run is not None and run.flow == assessment.FLOW
            # a level's label ("এখনো না", "১০-৯৯") answers a guided question as its number would
            level = self.rt.levels.level_named(text) if in_assessment else None
            entry = (assessment.read(text, self.rt.levels, in_flow=in_assessment)
                     if person.role in assessment.ROLES and level is None else None)
            if entry is not None:  # "A 2 3 1 1 0" from anywhere: unambiguous, so it interrupts
                self.start_flow(assessment.FLOW, entry.fields(self.rt.levels))
                return
            num = level if level is not None else number(text)
            if num is None and in_assessment:  # "dui" answers a guided question as 2 would
                num = assessment.number_word(text, self.rt.levels)
            # free text (not a keyword, not a number) goes through NLU; None when unsure
            heard = nlu.understand(self.rt, text) if num is None and text.strip() else None
            if heard is not None:  # what it heard, for `sathi nlu review`
                understood.record(self.db, self.msg, heard, self.now)
            if run is not None:
                flow = self.rt.flows[run.flow]
                media = tuple(m["url"] for m in self.msg.media or ())
                inp = engine.Input(text=text, number=num, intent=heard.intent if heard else None,
                                   media=media)
                new_session, events = engine.resume(flow, run.session, inp, self.now)
                if replies.takes_over(heard, events):  # the flow keeps waiting as it was
                    replies.respond(self, heard)
                else:
                    self.apply(run, new_session, events)
            elif person.onboarded_at is None:
                self._onboard()
            elif heard is not None:
                replies.respond(self, heard)
            else:
                self.say(NO_FLOW)

    def opt_out(self) -> None:
        """STOP: nothing more is sent (the active flow ends), said once. The console's
        "opt out" button is this same step, in a turn of its own."""
        if self.person.opted_out_at is None:
            self.person.opted_out_at = self.now
            self._interrupt()
            self.say(STOP_CONFIRMED)

    def opt_in(self) -> None:
        """START from someone who stopped: back in (onboarding, if they never finished it).
        The console's "opt back in" button is this same step, in a turn with no message: then
        someone never onboarded is only back on the roster (consent is their own reply, so the
        invitations ask them again)."""
        if self.person.opted_out_at is None:
            return
        self.person.opted_out_at = None
        if self.person.onboarded_at is None:
            if self.msg is not None:
                self._onboard()
        else:
            self.say(START_CONFIRMED)

    def _obstacle_coder(self):
        """HOOK for the NLU's obstacle classifier (issue 17): `bot.nlu.obstacle(rt, text)`,
        returning a code of store.models.OBSTACLES, or None when unsure. It codes a teacher's
        free-text answer to the reflection's obstacle question (flows/actions.py,
        code_obstacle). Until it exists, such an answer is kept as `obstacle_text`, uncoded."""
        classify = getattr(nlu, OBSTACLE_CLASSIFIER, None)
        return (lambda text: classify(self.rt, text)) if classify is not None else None

    def _onboard(self) -> None:
        """The person's own message begins onboarding: that is their consent, recorded with the
        invitation it answers (if any), then the welcome."""
        consent.record(self.db, self.person, self.channel, self.now, self.msg,
                       [c.id for c in self.rt.campaigns.values() if c.first_contact])
        self.start_flow(ONBOARDING)

    def _flow_option(self, text: str) -> bool:
        """True when the flow this person is in waits for `text` as one of its own options: a
        level's label or word inside the assessment, or a word a route of the waiting node
        names. Keywords must not swallow them; STOP is never asked about."""
        run = self.active_run()
        if run is None or run.session.get("status") != "waiting":
            return False
        if run.flow == assessment.FLOW and assessment.number_word(text, self.rt.levels) is not None:
            return True
        return engine.offers(self.rt.flows[run.flow], run.session, text)

    def say(self, key: str, language: str | None = None) -> None:
        person = self.person
        language = language or (person.language if person else "bn")
        params = {**self.run_fields, "name": person.name} if person else {}
        # a part left empty ({video} when there is none) leaves no stray space behind
        body = self.rt.catalogues.text(key, language, **params).strip()
        self.replies.append(outbox.queue_text(
            self.db, person=person, address=self.address, channel=self.channel,
            key=key, body=body, now=self.now, flush=False))

    def reply_ids(self) -> list[int]:
        """The ids of the replies written so far (one INSERT for those not yet flushed)."""
        if any(m.id is None for m in self.replies):
            self.db.flush()
        return [m.id for m in self.replies]

    def notice(self, key: str) -> None:
        """Tell a known person something about the service itself (not their flow)."""
        if self.person is not None and is_e164(self.address):
            self.say(key)

    def guard_loop(self) -> None:
        """Count this turn's replies; when they make a reply loop (abuse.py), say once that
        replies pause, and they do."""
        if self.replies and abuse.note_replies(self.rt.redis, self.address,
                                               [m.key for m in self.replies], self.now):
            self.notice(PAUSED)

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
        # the wait's deadline as the engine set it, in the INSERT (apply sets it again, and
        # only an action's deadline, "ask me later", makes that an UPDATE)
        waits = [ev.timeout_at for ev in events if isinstance(ev, InputExpected)]
        run = FlowRun(person_id=p.id, flow=flow.id, status=session.ACTIVE, session=new_session,
                      started_at=self.now, timeout_at=waits[-1] if waits else None)
        self.db.add(run)
        self.db.flush()
        self.apply(run, new_session, events)
        return run

    def _interrupt(self) -> None:
        run = self.active_run()
        if run is not None:
            session.end(run, "interrupted", self.now)
            self._active = None

    def apply(self, run: FlowRun, new_session: dict, events) -> None:
        """Act on the engine's events, in order: fields, answers, actions, replies."""
        self._active = _UNREAD
        run.session = new_session
        self.run_fields = new_session["fields"]
        ctx = Context(db=self.db, person=self.person, run=run, now=self.now,
                      catalogues=self.rt.catalogues, levels=self.rt.levels,
                      calendar=self.rt.calendar, content=self.rt.content,
                      campaigns=self.rt.campaigns, days=self.rt.days,
                      obstacle_coder=self._obstacle_coder())
        for ev in events:
            if isinstance(ev, MsgCreated):
                self.say(ev.key)
            elif isinstance(ev, FieldSet):
                self._set(run, ev.name, ev.value)
            elif isinstance(ev, ActionCalled):
                computed = self.rt.actions[ev.name](ctx, **ev.args)
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
