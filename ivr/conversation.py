"""A call's conversation: its flow run inline through the same engine, answered as TwiML.

    answer  the call is picked up: its flow starts (after its campaign's preparation, so what it
            says is fresh), or, on the next try of a call cut off mid-way, resumes at the
            question the run waits on, saying what led up to it again
    gather  a key pressed, words said, or silence: "*" (or "আবার") repeats, "0" (or "সাহায্য")
            helps where 0 is not an answer, "বন্ধ" stops every call and message; the first
            silence asks again, the second moves on (the engine's timeout); anything else is
            the engine's input
    record  a voice message recorded (<Record>): kept as a `Recording`, its URL the answer

Each runs under the person's turn lock, waiting at most LOCK_WAIT s (Twilio gives up on a
webhook after 15 s), in one transaction that waits on the database at most DB_DEADLINE s (a
database that fails or hangs: `Trouble`, an apology in the person's language): the input recorded, the run's answers and state, and
what to say. Every response names the next `step` in its action URL, so a request Twilio sends
twice is answered again, never applied twice. A run that ends with the field `next_flow` set
hands the call on to that flow (the call-back menu to the assessment).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot import runtime
from bot.campaigns.cycle import Preparing, Skip
from bot.flows import engine
from bot.flows.definition import Flow, say_keys
from bot.flows.events import InputRejected
from bot.i18n import ascii_digits
from bot.logs import mask
from bot.msgs import session
from bot.msgs.calls import CALLBACK
from bot.msgs.turn import Turn
from bot.parse import normalise
from bot.store.models import Call, CampaignRun, FlowRun, Message, Person, Recording

from . import callback, urls
from .prompts import (DIDNT_HEAR, GOODBYE, GREETING, HELP, NOT_NOW, RESUME, STOPPED, VOICE_KEYS,
                      Speech, prompts_of)
from .speech import asks_to_repeat, heard, voice_language
from .twiml import Gather, Hangup, Record, render

log = logging.getLogger(__name__)

LOCK_WAIT = 5  # seconds a call's turn waits for the person's lock before asking Twilio again
DB_DEADLINE = 4.0  # seconds each of a turn's two database sessions may take: with LOCK_WAIT,
# a database that hangs is apologised for within 13 s (Twilio gives up on a webhook at 15)
MAX_RECORDING = 4 * 3600  # seconds: Twilio records at most four hours; a longer duration is noise
SILENCES = 2  # silences in a row before a question moves on (the first asks it again)
REPEAT_KEY, HELP_KEY = "*", "0"
HINTS = {"bn": "হ্যাঁ, না, এক, দুই, তিন, চার, পাঁচ, ছয়, সাত, আট, নয়, শূন্য, আবার, সাহায্য, বন্ধ",
         "en": "yes, no, one, two, three, four, five, six, seven, eight, nine, zero, repeat, "
               "help, stop"}
"""Words speech recognition should expect (<Gather hints>)."""
LIVE = ("placing", "dialling", "ringing", "in-progress")  # a call that can still be talking
SKIPPED = "skipped:"  # the note of a call answered with nothing to say (its preparation's why)


class Busy(RuntimeError):
    """The person's turn is taken (a text being answered): Twilio is asked to come back."""


class Trouble(RuntimeError):
    """The database or Redis failed once the call was known: the apology is said in the
    person's language (`language`)."""

    def __init__(self, language: str):
        super().__init__(f"a call's turn failed ({language})")
        self.language = language


@dataclass
class _Said:
    """A key to say, with the values it names."""

    key: str
    params: dict


class VoiceTurn(Turn):
    """A turn on a call: what the flow says is collected to speak, not queued as messages."""

    def __init__(self, db: Session, now: datetime, person: Person):
        super().__init__(db, None, now, person=person, channel="voice")
        self.said: list[_Said] = []
        self.events: list = []

    def say(self, key: str, language: str | None = None) -> None:
        key = VOICE_KEYS.get(key, key)
        self.said.append(_Said(key, {**self.run_fields, "name": self.person.name}))

    def apply(self, run: FlowRun, new_session: dict, events) -> None:
        super().apply(run, new_session, events)
        self.events.extend(events)
        # a call's wait ends with the call: the dialer tries again, not the cron's expiry sweep
        run.timeout_at = None


def answer(call_id: int, form: dict) -> str:
    return _locked(call_id, lambda c: c.answer(form))


def gather(call_id: int, step: int, form: dict) -> str:
    return _locked(call_id, lambda c: c.gather(step, form))


def record(call_id: int, step: int, form: dict, empty: bool) -> str:
    return _locked(call_id, lambda c: c.record(step, form, empty))


def _locked(call_id: int, act) -> str:
    rt = runtime.current()
    with rt.db.session(deadline=DB_DEADLINE) as db:
        found = db.execute(select(Call.person_id, Person.language)
                           .join(Person, Person.id == Call.person_id)
                           .where(Call.id == call_id, Call.direction == "out")).first()
    if found is None:
        return render([], Hangup())
    person_id, language = found
    try:
        with session.locked(rt.redis, person_id, wait=LOCK_WAIT):
            with rt.db.session(deadline=DB_DEADLINE) as db:
                call = db.execute(select(Call).where(Call.id == call_id)
                                  .with_for_update()).scalar_one()
                return act(_Conversation(rt, db, call))
    except session.Busy as e:
        raise Busy(str(e)) from e
    except (SQLAlchemyError, RedisError) as e:
        raise Trouble(voice_language(language)) from e


class _Conversation:
    def __init__(self, rt: runtime.Runtime, db: Session, call: Call):
        self.rt, self.db, self.call = rt, db, call
        self.now = rt.now()
        self.person = db.get(Person, call.person_id)
        self.language = voice_language(self.person.language)
        self.prompts = prompts_of(rt)
        self.turn = VoiceTurn(db, self.now, self.person)

    # -- the three requests -------------------------------------------------------------------
    def answer(self, form: dict) -> str:
        call, person = self.call, self.person
        if call.status not in LIVE:  # given up, or opted out, since it was placed
            return render([], Hangup())
        call.provider_sid = call.provider_sid or (form.get("CallSid") or "")[:64] or None
        call.status, call.updated_at = "in-progress", self.now
        if person.opted_out:
            return self._end([], "opted_out")
        greeting = [_Said(GREETING, {"name": person.name})]
        run = self._run()
        if run is not None and run.session.get("status") == "waiting":
            log.info("call %s to %s resumes %s at %s", call.id, mask(call.address), run.flow,
                     run.session["node"])
            cut_off = [_Said(RESUME, {})] if call.note == "cut_off" else []  # they heard it
            return self._respond(run, greeting + cut_off + self._prompt(run), store=False)
        try:
            fields = self._prepare()
        except Skip as why:
            self._skip_row(str(why))
            return self._end(greeting + [_Said(NOT_NOW, {})], f"{SKIPPED}{why}"[:32])
        run = self.turn.start_flow(call.flow, fields)
        call.flow_run_id = run.id
        self._mark_row_sent(run, fields)
        run = self._handoff(run)
        return self._respond(run, greeting + self.turn.said)

    def gather(self, step: int, form: dict) -> str:
        call = self.call
        run = self._run()
        if run is None or run.session.get("status") != "waiting":
            return self._end([_Said(GOODBYE, {})], call.note)
        if step != call.step or not self._record_input(step, form):
            return self._respond(run, self._prompt(run), store=False)  # asked again, not applied
        call.step += 1
        digits = ascii_digits((form.get("Digits") or "").strip())  # "০" is "0": help
        speech = (form.get("SpeechResult") or "").strip()
        if not normalise(speech):  # "।" or "...": punctuation alone is nothing heard
            speech = ""
        node = self._flow(run).node(run.session["node"])
        keyword = self.rt.keywords.match(speech) if speech else None
        if not digits and not speech:
            call.silences += 1
            if call.silences < SILENCES:
                question = self._prompt(run)[-1:]
                return self._respond(run, [_Said(DIDNT_HEAR, {})] + question, store=False)
            return self._resume(run, engine.Input(timeout=True))
        if digits == REPEAT_KEY or asks_to_repeat(speech):
            return self._respond(run, self._prompt(run), store=False)
        if keyword == "stop":
            self.person.opted_out_at = self.now
            session.end(run, "interrupted", self.now)
            log.info("%s said stop on call %s", mask(self.person.phone), call.id)
            return self._end([_Said(STOPPED, {})], "opted_out")
        if (digits == HELP_KEY and not _takes(node, 0)) or keyword == "help":
            return self._respond(run, [_Said(HELP, {})] + self._prompt(run)[-1:], store=False)
        return self._resume(run, heard(digits, speech, self.rt.levels.numbers))

    def record(self, step: int, form: dict, empty: bool) -> str:
        call = self.call
        run = self._run()
        if run is None or run.session.get("status") != "waiting":
            return self._end([_Said(GOODBYE, {})], call.note)
        if step != call.step:
            return self._respond(run, self._prompt(run), store=False)
        call.step += 1
        url, sid = form.get("RecordingUrl"), (form.get("RecordingSid") or "")[:64]
        duration = min(_int(form.get("RecordingDuration")), MAX_RECORDING)
        if empty or not url or not sid or not duration:  # nothing said: the message is skipped
            return self._resume(run, engine.Input(timeout=True))
        node = self._flow(run).node(run.session["node"])
        kind = next((r["save_as"] for r in node.get("routes", [])
                     if r.get("any_text") and "save_as" in r), run.flow)[:16]
        try:
            with self.db.begin_nested():
                self.db.add(Recording(
                    call_id=call.id, person_id=self.person.id, school_id=self.person.school_id,
                    week=run.session["fields"].get("week") or self.rt.calendar.week_of(self.now),
                    kind=kind, provider_sid=sid, url=url, duration=duration,
                    created_at=self.now))
        except IntegrityError:  # the same recording posted twice
            return self._respond(run, self._prompt(run), store=False)
        return self._resume(run, engine.Input(text=url))

    # -- the flow -----------------------------------------------------------------------------
    def _flow(self, run: FlowRun) -> Flow:
        return self.rt.flows[run.flow]

    def _run(self) -> FlowRun | None:
        run = self.db.get(FlowRun, self.call.flow_run_id) if self.call.flow_run_id else None
        return run if run is not None and run.status == session.ACTIVE else None

    def _resume(self, run: FlowRun, inp: engine.Input) -> str:
        self.call.silences = 0
        new_session, events = engine.resume(self._flow(run), run.session, inp, self.now)
        self.turn.apply(run, new_session, events)
        rejected = any(isinstance(e, InputRejected) for e in events)
        if rejected and run.status == session.ACTIVE and run.session.get("status") == "waiting":
            # an answer the question does not take: say why, then the question again
            return self._respond(run, self.turn.said + self._prompt(run)[-1:], store=False)
        run = self._handoff(run)
        return self._respond(run, self.turn.said)

    def _handoff(self, run: FlowRun) -> FlowRun:
        """A run that ended naming `next_flow` passes the call on to that flow."""
        following = run.session.get("fields", {}).get("next_flow")
        if run.status == session.ACTIVE or not following or following not in self.rt.flows:
            return run
        new = self.turn.start_flow(following, {"week": run.session["fields"].get("week")})
        self.call.flow_run_id = new.id
        return new

    def _prepare(self) -> dict:
        """The flow's fields, worked out now the call is answered: its campaign's preparation,
        or the call-back menu's; `first_call` for a person not yet onboarded."""
        call, person, rt = self.call, self.person, self.rt
        fields = {"first_call": person.onboarded_at is None,
                  "week": rt.calendar.week_of(self.now)}
        if call.campaign_run_id is not None:
            row = self.db.get(CampaignRun, call.campaign_run_id)
            campaign = rt.campaigns.get(row.campaign)
            if campaign is None:
                raise Skip("no_campaign")
            fields["week"] = row.week
            if campaign.prepare:
                fields.update(rt.preparations[campaign.prepare](Preparing(
                    db=self.db, person=person, row=row, campaign=campaign, content=rt.content,
                    now=self.now, calendar=rt.calendar, catalogues=rt.catalogues,
                    flow=rt.flows[campaign.flow], levels=rt.levels, campaigns=rt.campaigns)))
        elif call.purpose == CALLBACK:
            fields.update(callback.menu_fields(self.db, rt, person, self.now))
        return fields

    def _mark_row_sent(self, run: FlowRun, fields: dict) -> None:
        if self.call.campaign_run_id is None:
            return
        row = self.db.get(CampaignRun, self.call.campaign_run_id)
        row.status, row.done_at, row.flow_run_id = "sent", self.now, run.id
        row.activity, row.variant = fields.get("activity"), fields.get("variant")

    def _skip_row(self, why: str) -> None:
        if self.call.campaign_run_id is not None:
            row = self.db.get(CampaignRun, self.call.campaign_run_id)
            row.status, row.note, row.done_at = "skipped", why[:32], self.now

    # -- what is said -------------------------------------------------------------------------
    def _prompt(self, run: FlowRun) -> list[_Said]:
        """What led up to the question the run waits on, as it was said (for "*", a resumed
        call); else the waiting node's own words; the question is the last of them."""
        node_name = run.session["node"]
        stored = self.call.prompt or {}
        if stored.get("run") == run.id and stored.get("node") == node_name and stored["keys"]:
            keys = stored["keys"]
        else:
            keys = list(say_keys(self._flow(run).node(node_name).get("say", []), "voice"))
        params = {**run.session.get("fields", {}), "name": self.person.name}
        return [_Said(VOICE_KEYS.get(k, k), params) for k in keys] or [_Said(HELP, {})]

    def _speak(self, said: list[_Said]) -> list[Speech]:
        return [self.prompts.speech(s.key, self.language, s.params) for s in said]

    def _respond(self, run: FlowRun, said: list[_Said], store: bool = True) -> str:
        """Say `said`, then what the run waits for: a key or words, a recording; or hang up."""
        call = self.call
        call.updated_at = self.now
        if run.status != session.ACTIVE:
            return self._end(said if self.turn.said else said + [_Said(GOODBYE, {})], call.note)
        node_name = run.session["node"]
        if store:  # what to say again for "*", after a silence, and on the next try
            call.prompt = {"run": run.id, "node": node_name,
                           "keys": [s.key for s in self.turn.said]}
        wait = self._flow(run).node(node_name).get("wait", {})
        if "record" in wait:
            then = Record(action=urls.record(self.rt, call, call.step), max_length=wait["record"],
                          empty=urls.record(self.rt, call, call.step, empty=True))
        else:
            then = Gather(action=urls.gather(self.rt, call, call.step), language=self.language,
                          hints=HINTS[self.language])
        return render(self._speak(said), then, voices(self.rt))

    def _end(self, said: list[_Said], note: str | None) -> str:
        self.call.note = note
        return render(self._speak(said), Hangup(), voices(self.rt))

    def _record_input(self, step: int, form: dict) -> bool:
        """Keep what the person pressed or said, like every message in (False: already kept)."""
        text = (form.get("Digits") or form.get("SpeechResult") or "").strip()
        if not text:
            return True
        sid = f"{form.get('CallSid') or self.call.provider_sid}:{step}"
        try:
            with self.db.begin_nested():
                self.db.add(Message(direction="in", channel="voice", person_id=self.person.id,
                                    address=self.call.address, provider_sid=sid[:64],
                                    body=text, status="handled", attempts=0,
                                    created_at=self.now, updated_at=self.now))
        except IntegrityError:
            return False
        return True


def voices(rt: runtime.Runtime) -> dict[str, str]:
    return {"bn": rt.settings.voice_bn, "en": rt.settings.voice_en}


def _takes(node: dict, number: int) -> bool:
    """Whether the node has an answer for `number` (then "0" is an answer, not help)."""
    for route in node.get("routes", []):
        wanted = route.get("number")
        if wanted == number or (isinstance(wanted, list) and number in wanted):
            return True
    return False


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
