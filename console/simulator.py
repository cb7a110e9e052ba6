"""The phone simulator (/console/simulator): a person's phone in the page.

Pick a rostered person by phone (or any test number), type, and the replies appear as on the
phone, each with its channel and SMS segments. A message typed here takes the real path: it is
recorded as an inbound message, handled by the worker's own job (understood, the flow engine,
the turn), and its replies are queued and sent by the outbox's job; only the provider differs
(bot/channels/simulator.py), so nothing reaches Twilio or a gateway. The jobs go to queues of
the simulator's own, which the request drains itself (bot/simulate.py: `Simulator`).

A campaign can be sent to the person now (this week's nudge, reflection...), as cron's fan-out
delivers it; and a call taken: the dialer places it through the simulator's voice adapter, and
the page answers it, posting keys and words to ivr's conversation exactly as Twilio's webhooks
do. What the call says (its TwiML) is shown as text with a keypad.

Acting as a rostered person is real: their flow runs, answers and campaign rows are theirs (as
with `sathi simulate`). To try things without touching a teacher's record, roster a test
person (your own number, in a test school) and pick them.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, g, render_template, request
from sqlalchemy import select, update

from bot import runtime
from bot.channels import simulator as sim_channel
from bot.contacts.phones import InvalidPhone, e164
from bot.i18n import N_, ascii_digits
from bot.msgs import calls as owed
from bot.simulate import Reply, Simulator
from bot.store.models import Call, Message, Person
from ivr import conversation, dialer

from . import ui

bp = Blueprint("simulator", __name__, url_prefix="/console/simulator", template_folder="templates")

ACTORS = (None, "admin", "programme")  # staff roles that may use it (None: no sign-in at all)
HISTORY = 40  # messages of the person shown on the phone, newest last
CALL_LOG_TTL = 3600  # seconds the page keeps a simulated call's transcript (Redis)
CALL_LOG = "sathi:simulator:call:{}"
CHANNELS = ("sms", "whatsapp")
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")  # a phone's keypad
CALLBACK = "callback"  # the call-back menu (a missed call answered), beside the campaign calls

STRINGS = (
    N_("console.simulator.title"), N_("console.simulator.intro"), N_("console.simulator.phone"),
    N_("console.simulator.phone_help"), N_("console.simulator.open"),
    N_("console.simulator.channel"), N_("console.simulator.as_person"),
    N_("console.simulator.not_rostered"), N_("console.simulator.bad_phone"),
    N_("console.simulator.message"), N_("console.simulator.send"),
    N_("console.simulator.empty"), N_("console.simulator.segments"),
    N_("console.simulator.campaign"), N_("console.simulator.campaign_send"),
    N_("console.simulator.outcome"), N_("console.simulator.call"),
    N_("console.simulator.call_start"), N_("console.simulator.call_kind"),
    N_("console.simulator.call_callback"), N_("console.simulator.call_said"),
    N_("console.simulator.call_pressed"), N_("console.simulator.keypad"),
    N_("console.simulator.speech"), N_("console.simulator.speech_send"),
    N_("console.simulator.no_message"), N_("console.simulator.hang_up"),
    N_("console.simulator.call_ended"), N_("console.simulator.call_not_placed"),
    N_("console.simulator.busy"), N_("console.simulator.nothing_leaves"),
    N_("console.simulator.you"), N_("console.simulator.service"),
    N_("console.simulator.real_person"), N_("console.simulator.record_waiting"),
    N_("console.role.teacher"), N_("console.role.headteacher"), N_("console.role.officer"),
    N_("console.role.ambassador"),
)
"""The page's texts (the templates say them by key through the catalogues)."""


@bp.context_processor
def _helpers():
    return ui.context()


@bp.before_request
def _programme_staff_only():
    """Acting as anyone and reading their messages is for the programme team: an officer sees
    people only in their own area, through the console's people pages."""
    if getattr(g.get("staff"), "role", None) not in ACTORS:
        abort(403)


# -- the page ----------------------------------------------------------------------------------
@dataclass
class Page:
    phone: str = ""
    raw_phone: str = ""
    channel: str = "sms"
    person: Person | None = None
    problem: str | None = None
    history: list = field(default_factory=list)
    new: int = 0  # the last `new` bubbles are this turn's replies
    outcome: str | None = None
    call: dict | None = None


def _sim() -> Simulator:
    return Simulator(runtime.current())


def _page(raw: str | None, channel: str | None = None) -> Page:
    page = Page(raw_phone=raw or "", channel=channel if channel in CHANNELS else "sms")
    if not raw:
        return page
    try:
        page.phone = e164(ascii_digits(raw))
    except InvalidPhone:
        page.problem = "console.simulator.bad_phone"
        return page
    rt = runtime.current()
    with rt.db.session() as db:
        page.person = db.execute(select(Person).where(Person.phone == page.phone)
                                 ).scalar_one_or_none()
        if page.person is not None:
            db.expunge(page.person)
            if channel is None and page.person.channel in CHANNELS:
                page.channel = page.person.channel
        rows = db.execute(select(Message).where(Message.address == page.phone,
                                                Message.channel.in_(CHANNELS))
                          .order_by(Message.id.desc()).limit(HISTORY)).scalars().all()
        page.history = [Reply(m.channel, m.segments or 0, m.body, m.status, m.provider)
                        if m.direction == "out" else
                        Reply(m.channel, 0, m.body, "in", m.provider) for m in reversed(rows)]
    return page


def _render(page: Page, status: int = 200):
    rt = runtime.current()
    campaigns = sorted(rt.campaigns)
    voice = sorted(c.id for c in rt.campaigns.values() if rt.flows[c.flow].runs_on("voice"))
    return render_template("console/simulator.html", page=page, campaigns=campaigns,
                           voice_campaigns=voice, keys=KEYS, channels=CHANNELS), status


@bp.get("/")
def index():
    return _render(Page())


@bp.post("/")
def open_phone():
    """The phone of a number: posted, so a phone number never sits in a URL (or a log of one)."""
    page = _page(request.form.get("phone"), request.form.get("channel"))
    return _render(page, 400 if page.problem else 200)


@bp.post("/send")
def send():
    page = _page(request.form.get("phone"), request.form.get("channel"))
    text = (request.form.get("text") or "").strip()
    if page.problem or not text:
        return _render(page, 400 if page.problem else 200)
    replies = _sim().say(page.phone, text, page.channel)
    page = _page(page.phone, page.channel)
    page.new = len(replies)
    return _render(page)


@bp.post("/campaign")
def campaign():
    page = _page(request.form.get("phone"), request.form.get("channel"))
    name = request.form.get("campaign", "")
    if page.problem or page.person is None or name not in runtime.current().campaigns:
        return _render(page, 400)
    return _campaign(page, name)


# -- a call --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Heard:
    """One answer of the conversation, as the caller hears it."""

    said: list[str]  # each <Say> or <Play>, as text
    waits: str  # gather | record | hangup | again
    step: int | None = None


def heard(twiml: str, catalogues) -> Heard:
    """What a TwiML answer says, in order, and what it waits for. A <Play> is a recorded prompt:
    its key's catalogue text is what the recording says."""
    root = ET.fromstring(twiml)
    said: list[str] = []

    def speak(node):
        if node.tag == "Say":
            said.append(node.text or "")
        elif node.tag == "Play":  # .../<language>/<key>.mp3
            parts = urlsplit(node.text or "").path.split("/")
            said.append(catalogues.text(parts[-1].removesuffix(".mp3"), parts[-2]))

    waits, step = "hangup", None
    for node in root:
        speak(node)
        if node.tag == "Gather":
            for inner in node:
                speak(inner)
            waits, step = "gather", _step(node.get("action"))
        elif node.tag == "Record":
            waits, step = "record", _step(node.get("action"))
        elif node.tag == "Redirect" and waits != "record":
            waits = "again"
    return Heard(said, waits, step)


def _step(url: str | None) -> int | None:
    values = parse_qs(urlsplit(url or "").query).get("step")
    return int(values[0]) if values and values[0].isdigit() else None


def _log(call_id: int, who: str, lines: list[str]) -> None:
    r = runtime.current().redis
    key = CALL_LOG.format(call_id)
    for line in lines:
        r.rpush(key, json.dumps({"who": who, "text": line}, ensure_ascii=False))
    r.expire(key, CALL_LOG_TTL)


def _call_view(call_id: int, last: Heard | None) -> dict:
    r = runtime.current().redis
    transcript = [json.loads(x) for x in r.lrange(CALL_LOG.format(call_id), 0, -1)]
    step = last.step if last is not None else None
    if step is None:  # asked to come back (busy): the conversation's own step
        with runtime.current().db.session() as db:
            step = db.execute(select(Call.step).where(Call.id == call_id)).scalar()
    return {"id": call_id, "transcript": transcript, "waits": last.waits if last else "hangup",
            "step": step}


def _own_call(call_id: int) -> Call:
    """A call the simulator placed (its sid says so): the page never acts on a real call."""
    with runtime.current().db.session() as db:
        call = db.get(Call, call_id)
        if call is None or not (call.provider_sid or "").startswith(sim_channel.SID_PREFIX):
            abort(404)
        db.expunge(call)
        return call


def _answered(call_id: int, twiml_of) -> Heard:
    sim = _sim()
    try:
        with runtime.using(sim):
            twiml = twiml_of()
    except conversation.Busy:
        return Heard([], "again")
    said = heard(twiml, sim.catalogues)
    _log(call_id, "service", said.said)
    if said.waits == "hangup":
        with runtime.using(sim):
            dialer.end_simulated(call_id)
    return said


@bp.post("/call")
def call():
    page = _page(request.form.get("phone"), request.form.get("channel"))
    kind = request.form.get("kind", "")
    rt = runtime.current()
    if page.problem or page.person is None or (kind != CALLBACK and kind not in rt.campaigns):
        return _render(page, 400)
    if kind == CALLBACK:
        with rt.db.session() as db:
            person = db.get(Person, page.person.id)
            call_id = owed.queue_call(db, person=person, purpose=owed.CALLBACK, flow="callback",
                                      now=rt.now()).id
        return _take_call(page, call_id)
    return _campaign(page, kind)


def _campaign(page: Page, name: str):
    """This week's campaign for the person now: messages to the phone, or, for a person on
    voice, the call it owes them, taken in the page."""
    outcome, replies = _sim().campaign(page.phone, name)
    if outcome == "calling":
        with runtime.current().db.session() as db:
            call_id = db.execute(select(Call.id).where(
                Call.person_id == page.person.id, Call.status == "queued")
                .order_by(Call.id.desc()).limit(1)).scalar()
        page.outcome = outcome
        return _take_call(page, call_id)
    page = _page(page.phone, page.channel)
    page.new, page.outcome = len(replies), outcome
    return _render(page)


def _take_call(page: Page, call_id: int):
    """The dialer places the call (through the simulator's voice adapter) and the page answers
    it. A call that cannot be placed now (outside the sending window) is ended, never left for
    the real dialer."""
    rt, sim = runtime.current(), _sim()
    with rt.db.session() as db:
        db.execute(update(Call).where(Call.id == call_id, Call.status == "queued")
                   .values(status="placing", updated_at=rt.now()))
    with runtime.using(sim):
        placed = dialer.place(call_id)
    if placed != "placed":
        with rt.db.session() as db:
            call_row = db.get(Call, call_id)
            if call_row.status not in dialer.DONE:
                call_row.provider_sid = call_row.provider_sid or sim_channel.sid("CA")
        with runtime.using(sim):
            dialer.end_simulated(call_id, f"simulator_{placed}")
        page.outcome = f"call:{placed}"
        return _render(page)
    call_row = _own_call(call_id)
    said = _answered(call_id, lambda: conversation.answer(call_id, {
        "CallSid": call_row.provider_sid, "CallStatus": "in-progress"}))
    page.call = _call_view(call_id, said)
    return _render(page)


@bp.post("/call/<int:call_id>")
def call_turn(call_id: int):
    page = _page(request.form.get("phone"), request.form.get("channel"))
    call_row = _own_call(call_id)
    step = request.form.get("step", "")
    if not step.isdigit():
        abort(400)
    form = {"CallSid": call_row.provider_sid}
    action = request.form.get("action", "key")
    if action == "hangup":
        _log(call_id, "caller", ["—"])
        with runtime.using(_sim()):
            dialer.end_simulated(call_id, "hung_up")
        page.call = _call_view(call_id, None)
        return _render(page)
    if action == "no_message":
        said = _answered(call_id, lambda: conversation.record(call_id, int(step), form, True))
    else:
        digits = ascii_digits(request.form.get("digits") or "").strip()[:1]
        speech = (request.form.get("speech") or "").strip()[:200]
        if digits:
            form["Digits"] = digits
        elif speech:
            form["SpeechResult"], form["Confidence"] = speech, "0.9"
        _log(call_id, "caller", [digits or speech or "…"])
        said = _answered(call_id, lambda: conversation.gather(call_id, int(step), form))
    page.call = _call_view(call_id, said)
    return _render(page)
