"""What must last: schools, people, messages, flow runs and their answers."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("teacher", "headteacher", "officer", "ambassador")
"""ambassador: a Teachers' Portal ICT4E ambassador, first responder for their upazila's officer
(gets the upazila digest and the schools to call); an officer's or ambassador's roster row names
a district and an upazila, or a district only (a district officer): bot/contacts/jurisdiction.py"""
LANGUAGES = ("bn", "en", "bn-Latn")  # bn-Latn: romanised Bangla (GSM-7, cheaper SMS)
CHANNELS = ("sms", "whatsapp", "voice")
OBSTACLES = ("time", "materials", "understanding", "other")
"""What kept a teacher from trying the week's activity, as the reflection's `obstacle` answer is
stored (coded, so officers' digests can count it): no time, no materials, learners did not
understand, something else. Free text a teacher writes instead is kept as `obstacle_text`."""


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend. SQLite keeps no offset, so it is stored as UTC
    and given back as UTC; PostgreSQL keeps timestamptz. Naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (runtime.now() is UTC)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


class School(Base):
    __tablename__ = "school"

    id: Mapped[int] = mapped_column(primary_key=True)
    emis: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    upazila: Mapped[str] = mapped_column(String(100), index=True)
    district: Mapped[str] = mapped_column(String(100), index=True)

    people: Mapped[list["Person"]] = relationship(back_populates="school")


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    upazila: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8), default="bn")
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    onboarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    school: Mapped[School | None] = relationship(back_populates="people")

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


class Message(Base):
    """One message in or out. Inbound rows are written before the webhook answers."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("direction", "provider_sid", name="uq_message_provider_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    channel: Mapped[str] = mapped_column(String(16))  # "sms" | "whatsapp" | "voice"
    # who carried it: "twilio", "loopback" (the local outbox) or a channel of the channels file
    # ("local"); an outbound row gets it when it is first sent (bot/msgs/routing.py)
    provider: Mapped[str | None] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    address: Mapped[str] = mapped_column(String(40), index=True)  # the other party, E.164
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    # media that came with an inbound message (WhatsApp photos, voice notes): [{url, type}]
    media: Mapped[list | None] = mapped_column(JSON)
    key: Mapped[str | None] = mapped_column(String(100))  # catalogue key of an outbound message
    segments: Mapped[int | None] = mapped_column(Integer)
    # in:  received -> handled; or throttled (a flood or a reply loop: kept, not acted on); or
    #      failed (could not be handled, left for a human)
    # out: queued -> sending -> sent -> delivered | undelivered | failed; or suppressed; or
    #      cancelled (a re-send or fallback whose original was reported delivered after all).
    #      `sending` past its lease (next_attempt_at) is an unknown outcome: looked up at the
    #      provider before it is sent again (outbox.reconcile)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # queued: an outbound message not sent by then has lost its job (`outbox.sweep`);
    # sending: the lease, after which its outcome counts as unknown
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # indexed: the weekly figures count a week's SMS segments by time (the console's cost)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    person: Mapped[Person | None] = relationship()


class FlowRun(Base):
    """A person's walk through one flow; `session` is the engine's last snapshot."""

    __tablename__ = "flow_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    flow: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | completed | expired | interrupted
    session: Mapped[dict] = mapped_column(JSON)
    # when the node it waits at times out; the cron sweep (`inbound.expire_due`) acts on it
    timeout_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    answers: Mapped[list["Answer"]] = relationship(back_populates="run", order_by="Answer.id")


class Answer(Base):
    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("flow_run.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    # indexed: the weekly figures read one week of answers by time, not the whole history
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    run: Mapped[FlowRun] = relationship(back_populates="answers")


class CampaignRun(Base):
    """One weekly campaign message for one person: planned once, sent at most once.

    The unique (campaign, week, person) key is what makes a campaign safe to run twice, or on
    two workers at once: planning inserts what is missing, and a send claims its row first.
    """

    __tablename__ = "campaign_run"
    __table_args__ = (UniqueConstraint("campaign", "week", "person_id",
                                       name="uq_campaign_run_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(16))  # nudge | reminder | reflection
    week: Mapped[str] = mapped_column(String(8))  # school week, "2026-W48"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    # planned (waiting: a campaign_due row stands for it; claimed: a deliver job has it, shown
    # as "queued") -> sent | skipped (note says why); on voice -> calling (a call is owed) ->
    # sent (answered: flow_run_id) | skipped (not reached). "queued" is an older release's
    # claimed row (bot/campaigns/due.py)
    status: Mapped[str] = mapped_column(String(16))
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activity: Mapped[str | None] = mapped_column(String(16))  # content activity id, "3.2"
    variant: Mapped[str | None] = mapped_column(String(16))  # nudge: normal | after_skip | encourage
    note: Mapped[str | None] = mapped_column(String(32))
    flow_run_id: Mapped[int | None] = mapped_column(ForeignKey("flow_run.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # an older release's claim


class CampaignDue(Base):
    """A planned campaign row waiting for its time: what dispatch claims, by deleting it.

    Narrow on purpose, and with no foreign key: a claim deletes these rows, which costs the
    database a few bytes of WAL each and no index entry, where changing the wide campaign_run
    row would write it whole again and add an entry to each of its indexes (bot/campaigns/due.py).
    """

    __tablename__ = "campaign_due"
    __table_args__ = (Index("ix_campaign_due_order", "planned_at", "run_id"),)  # claim order

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    campaign: Mapped[str] = mapped_column(String(16))
    week: Mapped[str] = mapped_column(String(8))  # its period: rows of one that ended are skipped
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignClaim(Base):
    """One `deliver` job's batch of claimed campaign rows, kept until the job has run: a claim
    older than fanout.LOST_AFTER lost its job, and its rows not yet sent are due again."""

    __tablename__ = "campaign_claim"
    # an id is never given again (SQLite would reuse the highest one once it is deleted): a job
    # that runs after its claim was reclaimed releases its claim by id, and must not release a
    # later batch's (PostgreSQL's sequence never goes back)
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    run_ids: Mapped[list] = mapped_column(JSON)


class Cycle(Base):
    """Where a teacher is in the weekly cycle: the next activity, and weeks gone by untried."""

    __tablename__ = "cycle"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # activities nudged so far
    missed: Mapped[int] = mapped_column(Integer, default=0)  # weeks running not tried or unanswered
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Assessment(Base):
    """A teacher's quick assessment of five learners (issue 5). Never a learner's name: the
    results are slots and levels. School, upazila and district are copied at the time taken,
    so the record stays true when a teacher later moves school."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    upazila: Mapped[str | None] = mapped_column(String(100), index=True)
    district: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[int | None] = mapped_column(Integer)  # 1 or 2 when the teacher said
    channel: Mapped[str] = mapped_column(String(16))  # sms | whatsapp | voice
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    results: Mapped[list["AssessmentResult"]] = relationship(
        back_populates="assessment", order_by="AssessmentResult.slot",
        cascade="all, delete-orphan")
    school: Mapped[School | None] = relationship()


class AssessmentResult(Base):
    """One learner's level: slot 1 a high attainer, 2-3 middle, 4-5 low; level from levels.yaml."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("assessment_id", "slot",
                                       name="uq_assessment_result_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)

    assessment: Mapped[Assessment] = relationship(back_populates="results")


class DeliveryAttempt(Base):
    """One try to send an outbound message, or one status the provider reported for it.

    outcome: sent | retry (deferred, or re-sent as `related_message_id`) | failed |
    template (the approved template goes next: refused as free text, or a conversation we open
    with someone who never wrote in, attempt 0) | fallback (re-sent on SMS as
    `related_message_id`) | status (a status callback: `status`, `error_code`).
    """

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # the message's attempt count at the time
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))  # the provider's, for "status"
    error_code: Mapped[int | None] = mapped_column(Integer)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    related_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    # "fallback:<message id>" or "resend:<message id>": a follow-up is made once per message,
    # however many times (or however concurrently) the provider reports the failure
    once: Mapped[str | None] = mapped_column(String(40), unique=True)


class Question(Base):
    """A teacher's question in their own words, kept for their headteacher's weekly summary
    (bot/msgs/questions.py); call-back requests are kept here too (intent "call_me")."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(32))  # question | call_me
    confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # set when the question went out in a headteacher's summary; unforwarded ones are NULL
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class Checkin(Base):
    """A headteacher's weekly check-in for their school: was there a staff meeting, did teachers
    practise an activity at it, how many learning walks, how many foundation-skills lessons each
    class got. One row per school and school week; a question not (yet) answered stays None."""

    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("school_id", "week", name="uq_checkin_school_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    week: Mapped[str] = mapped_column(String(8))  # school week, "2026-W49"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)  # who answered
    channel: Mapped[str] = mapped_column(String(16))  # voice | sms | whatsapp
    meeting: Mapped[bool | None] = mapped_column(Boolean)  # a staff meeting this week
    practised: Mapped[bool | None] = mapped_column(Boolean)  # an activity practised at it
    walks: Mapped[int | None] = mapped_column(Integer)  # learning walks this week
    foundation_lessons: Mapped[int | None] = mapped_column(Integer)  # per class, this week
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Call(Base):
    """A voice call: one we owe a person (a campaign's call, a missed-call callback), tried on
    the retry schedule until it is reached or given up, or one missed call that came in.

    status, outbound: queued (due at next_attempt_at) -> placing (a job has it) -> dialling
    (the Calls API request is out) -> ringing -> in-progress -> completed (reached: the flow
    ended) | queued again (not reached, or dropped mid-way: the next try) | unreached (every
    try used) | failed (a retry cannot help) | cancelled (opted out, or left the audience).
    Inbound (a missed call): rejected. `ivr/dialer.py` moves them; every try and every status
    Twilio reports is a `CallAttempt` row.
    """

    __tablename__ = "call"
    __table_args__ = (UniqueConstraint("direction", "provider_sid", name="uq_call_provider_sid"),
                      Index("ix_call_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "out" | "in"
    purpose: Mapped[str] = mapped_column(String(16))  # campaign | callback | missed
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    address: Mapped[str] = mapped_column(String(40))  # the other party, E.164
    flow: Mapped[str | None] = mapped_column(String(64))  # the flow the call runs
    campaign_run_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_run.id"),
                                                        unique=True)
    flow_run_id: Mapped[int | None] = mapped_column(ForeignKey("flow_run.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # tries placed so far
    api_errors: Mapped[int] = mapped_column(Integer, default=0)  # Calls API refusals retried
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_sid: Mapped[str | None] = mapped_column(String(64))  # the current try's CallSid
    answered_by: Mapped[str | None] = mapped_column(String(24))  # AMD: human | machine_... | fax
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds, of the last try
    error_code: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(32))  # why it ended as it did
    # the conversation: each input handled moves `step` on, so a repeated request is answered
    # again, never applied twice; `prompt` is what was said before the last question, to
    # repeat it ("*", silence) and to resume there on the next try; `silences` in a row
    step: Mapped[int] = mapped_column(Integer, default=0)
    prompt: Mapped[dict | None] = mapped_column(JSON)
    silences: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CallAttempt(Base):
    """One try to place a call, or one report about it (like `DeliveryAttempt` for messages).

    outcome: placed (Twilio took it: `provider_sid`) | retry (the Calls API refused for now) |
    failed (refused for good) | status (a status callback: `status`, `duration`, `error_code`) |
    amd (answering machine detection: `answered_by`) | left (what was left on an answering
    machine: a message, or a hang-up).
    """

    __tablename__ = "call_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # the try it belongs to (1, 2, ...)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))  # Twilio's CallStatus
    answered_by: Mapped[str | None] = mapped_column(String(24))
    duration: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[int | None] = mapped_column(Integer)
    provider_sid: Mapped[str | None] = mapped_column(String(64))


class Recording(Base):
    """A voice message a person recorded on a call (`<Record>`): a headteacher's message to
    share, a teacher's spoken reflection. Twilio keeps the audio; we keep where and how long."""

    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    week: Mapped[str] = mapped_column(String(8))  # school week, "2026-W49"
    kind: Mapped[str] = mapped_column(String(16))  # the flow field it answers: share | reflection
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)  # RecordingSid
    url: Mapped[str] = mapped_column(String(500))
    duration: Mapped[int] = mapped_column(Integer)  # seconds
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Consent(Base):
    """A person's yes to the service: their first reply (or START) that began onboarding, with
    the invitation it answered. A rostered person who wrote in uninvited consents too, with no
    invitation; a headteacher on voice consents on their first call (ivr/, the voice issue)."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(16))  # the reply's: sms | whatsapp | voice
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))  # the reply
    # the invitation it answered (a campaign row of a `first_contact` campaign), if any
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_run.id"))
    campaign: Mapped[str | None] = mapped_column(String(16))  # invite | invite_again | ...
    text_version: Mapped[str | None] = mapped_column(String(16))  # the invitation's texts
    language: Mapped[str | None] = mapped_column(String(8))  # the invitation's language


class Understood(Base):
    """What the NLU made of one inbound message (bot/msgs/understood.py): the intent acted on
    (NULL when it abstained), its best two guesses and the bar the first had to reach. Staff
    review the unsure ones and label them into the training data (`sathi nlu review`)."""

    __tablename__ = "understood"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), unique=True)
    backend: Mapped[str] = mapped_column(String(16))  # rasa | embedded
    intent: Mapped[str | None] = mapped_column(String(32))  # acted on; NULL: abstained
    guess: Mapped[str | None] = mapped_column(String(32))  # the best guess, even below its bar
    confidence: Mapped[float] = mapped_column(Float)
    runner_up: Mapped[str | None] = mapped_column(String(32))  # the second best guess
    runner_up_confidence: Mapped[float | None] = mapped_column(Float)
    bar: Mapped[float] = mapped_column(Float)  # the confidence `guess` had to reach
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # set when a person labelled it (`sathi nlu review --label`); reviews list only unlabelled
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    message: Mapped[Message] = relationship()


class Figure(Base):
    """One count of one school in one school week: a weekly rollup the digests, the export and
    the console read (bot/digests/figures.py writes it, set-based, one week at a time).

    metric: teachers, active, joined, opted_out, asked, answered, tried, shared,
    obstacle:<code> (store OBSTACLES), assessments, level:<n> (learners at level n). A count
    that is zero has no row. Teachers are counted at the school they are rostered at now;
    assessments at the school they were taken in."""

    __tablename__ = "figure"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # school week, "2026-W49"
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class AreaFigure(Base):
    """The `figure` rows of a week summed per upazila (and `schools`, `meetings`: how many
    schools it has, how many reported a staff meeting), so a digest reads its area's week in
    one indexed statement. Written with the school figures, in the same transaction."""

    __tablename__ = "area_figure"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    district: Mapped[str] = mapped_column(String(100), primary_key=True)
    upazila: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class FigureRefresh(Base):
    """When a week's `figure` rows were last worked out; one row per week, also the lock two
    workers take so that only one of them refreshes a week at a time."""

    __tablename__ = "figure_refresh"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Recognition(Base):
    """A fortnight's nomination in one upazila: the teacher with the most consistent practice and
    reflections, or the headteacher whose school kept the most meetings. Nothing is sent to the
    nominee until an officer of that upazila says yes (status nominated -> confirmed -> sent, or
    skipped); the first officer's answer decides."""

    __tablename__ = "recognition"
    __table_args__ = (UniqueConstraint("district", "upazila", "week", "kind",
                                       name="uq_recognition_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8))  # the school week it was nominated in
    district: Mapped[str] = mapped_column(String(100))
    upazila: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # teacher | headteacher
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)  # the nominee
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    score: Mapped[int] = mapped_column(Integer)  # weeks practised, or meetings held
    weeks: Mapped[int] = mapped_column(Integer)  # out of this many school weeks
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


STAFF_ROLES = ("admin", "programme", "officer")
"""Who signs in to the console (console/): admin (everything, the staff accounts), programme (the
programme team: every area), officer (a district or an upazila of it: jurisdiction.py)."""


class Staff(Base):
    """A console account. The password is kept only as a hash (werkzeug's scrypt); failed
    sign-ins are counted here, so a lockout holds across processes and restarts."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # kept lower-case
    role: Mapped[str] = mapped_column(String(16))  # STAFF_ROLES
    district: Mapped[str | None] = mapped_column(String(100))  # an officer's area
    upazila: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="bn")  # the console's: bn | en
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # in a row
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContentEdit(Base):
    """A text of the content as edited in the console, laid over the shipped files for every send
    from then on (bot/campaigns/content.py: `load_overrides`): one row per text and language.
    `kind` is module, activity or tip (`field`: title, description, materials, try_it, text) or
    message (a catalogue key of locales/*/messages.po; `field` is "")."""

    __tablename__ = "content_edit"
    __table_args__ = (UniqueConstraint("kind", "item", "field", "language",
                                       name="uq_content_edit_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(100))  # "3", "3.2", "staff_meeting.1", "weekly.nudge"
    field: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    audit_id: Mapped[int] = mapped_column(Integer)  # the ContentAudit row that set it


class ContentAudit(Base):
    """Every change made to the content: who (a staff email, or "cli"), when, the text before and
    after. Append-only; its highest id is the revision every process compares with its own."""

    __tablename__ = "content_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
