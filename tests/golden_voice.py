"""Playing a golden call transcript: Twilio's requests to the voice webhooks, signed, through the
dialer, the RQ worker and the Twilio double, with a frozen clock; each turn's TwiML is compared
with the script's as normalised XML (whitespace between elements does not count).

A turn, after moving the clock (`at: ISO time`, `advance: {minutes: 15}`), is one of:

    campaign: checkin      cron plans the campaign for now, dispatches and delivers its rows,
                           then the dialer places the calls that are due
    dial: true             the dialer's cron: place the calls that are due (a retry)
    answer: true           the latest call is picked up: Twilio fetches its Url
    press: "1"             a key, posted to the last TwiML's <Gather action>
    say: "হ্যাঁ"             words, as speech recognition wrote them (SpeechResult)
    silence: true          the <Gather> heard nothing (it posts anyway)
    record: 12             a recorded message of 12 s, posted to the <Record action>;
                           record: 0 is silence (Twilio follows the <Redirect> after it)
    status: completed      the call's status callback (with `duration: s`)
    amd: machine_end_beep  answering machine detection's verdict; `redirect:` is the TwiML the
                           service then puts on the live call
    missed: true           the person calls the service number (a flash call)
    sms: {phone, text}     someone texts the service (replies are not compared)

`twiml:` is what the webhook answered, `calls:` how many calls the double was asked to place
during the turn. SATHI_UPDATE_GOLDENS=1 rewrites them from what the service now does; read the
diff before committing it.
"""
from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.dom import minidom

import yaml
from conftest import ACCOUNT_SID, PUBLIC_BASE_URL, SMS_FROM
from sqlalchemy import update

from bot.campaigns import fanout as campaign
from bot.contacts.phones import e164
from bot.store.models import Person
from ivr import dialer

UPDATE = os.environ.get("SATHI_UPDATE_GOLDENS") == "1"


def normal(xml: str) -> str:
    return ET.canonicalize(xml_data=xml, strip_text=True)


def pretty(xml: str) -> str:
    text = minidom.parseString(xml.encode("utf-8")).toprettyxml(indent="  ")
    return "\n".join(line for line in text.splitlines()[1:] if line.strip()) + "\n"


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert url.startswith(PUBLIC_BASE_URL), url
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Player:
    def __init__(self, *, rt, tw, work, twilio, clock, script: dict):
        self.rt, self.tw, self.work, self.twilio, self.clock = rt, tw, work, twilio, clock
        self.script = script
        self.phone = script["phone"]
        self.twiml: str | None = None  # what the webhook last answered
        self.seen_calls = 0

    def _created(self) -> tuple[str, dict]:
        """The call the transcript follows: the latest one the double placed."""
        return self.twilio.placed_calls()[-1]

    def _action(self, tag: str) -> str:
        node = ET.fromstring(self.twiml).find(f".//{tag}")
        assert node is not None, f"no <{tag}> in the last answer: {self.twiml}"
        return node.get("action") if tag != "Redirect" else node.text

    def post(self, path: str, form: dict):
        response = self.tw.post(path, form)
        assert response.status_code in (200, 204), (path, response.status_code)
        return response

    def turn(self, turn: dict) -> str | None:
        """Play one turn; returns the TwiML it got, if any."""
        if "at" in turn:
            self.clock.current = datetime.fromisoformat(turn["at"])
        if "advance" in turn:
            self.clock.advance(**turn["advance"])
        if "campaign" in turn:
            now = self.clock()
            campaign.plan(self.rt, turn["campaign"], self.rt.calendar.week_of(now), now,
                          immediately=True)
            campaign.dispatch(self.rt, now)
            self.work()
            dialer.dispatch(self.rt, now)
            self.work()
            return None
        if turn.get("dial"):
            dialer.dispatch(self.rt, self.clock())
            self.work()
            return None
        if "sms" in turn:
            r = self.tw.sms(turn["sms"]["phone"], turn["sms"]["text"],
                            channel=turn["sms"].get("channel", "sms"))
            assert r.status_code == 200
            self.work()
            return None
        if turn.get("missed"):
            form = self.twilio.incoming_call_params(from_=e164(self.phone), to=SMS_FROM)
            twiml = self.post("/twilio/voice", form).get_data(as_text=True)
            self.work()
            return twiml
        sid, created = self._created()
        if turn.get("answer"):
            return self._twiml(self.post(_path(created["Url"]), self.twilio.voice_params(sid)))
        if "press" in turn:
            form = self.twilio.voice_params(sid, Digits=str(turn["press"]))
            return self._twiml(self.post(_path(self._action("Gather")), form))
        if "say" in turn:
            form = self.twilio.voice_params(sid, SpeechResult=turn["say"], Confidence="0.91")
            return self._twiml(self.post(_path(self._action("Gather")), form))
        if turn.get("silence"):
            return self._twiml(self.post(_path(self._action("Gather")),
                                         self.twilio.voice_params(sid)))
        if "record" in turn:
            if not turn["record"]:  # nothing said: Twilio goes on to the <Redirect>
                return self._twiml(self.post(_path(self._action("Redirect")),
                                             self.twilio.voice_params(sid)))
            rec = "RE" + uuid.uuid4().hex
            form = self.twilio.voice_params(
                sid, RecordingSid=rec, RecordingDuration=str(turn["record"]), Digits="#",
                RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                             f"/Recordings/{rec}")
            return self._twiml(self.post(_path(self._action("Record")), form))
        if "status" in turn:
            form = self.twilio.call_status_params(sid, turn["status"], turn.get("duration", 0))
            self.post(_path(created["StatusCallback"]), form)
            self.work()
            return None
        if "amd" in turn:
            self.post(_path(created["AsyncAmdStatusCallback"]),
                      self.twilio.amd_params(sid, turn["amd"]))
            self.work()
            updates = self.twilio.call_updates(sid)
            return updates[-1]["Twiml"] if updates else None
        raise AssertionError(f"unknown turn {turn}")

    def _twiml(self, response) -> str:
        assert response.mimetype == "text/xml"
        self.twiml = response.get_data(as_text=True)
        return self.twiml


def play(path: Path, *, rt, tw, work, twilio, clock) -> dict:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    clock.current = datetime.fromisoformat(script["clock"])
    given = script.get("given", {})
    if given.get("onboarded"):
        with rt.db.session() as db:
            db.execute(update(Person).where(Person.phone.in_(
                [e164(p) for p in given["onboarded"]])).values(onboarded_at=clock()))
    player = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock, script=script)
    for i, turn in enumerate(script["turns"]):
        before = len(twilio.calls())
        got = player.turn(turn)
        placed = len(twilio.calls()) - before
        where = f"{path.name}: turn {i + 1} {({k: v for k, v in turn.items() if k != 'twiml'})}"
        key = "redirect" if "amd" in turn else "twiml"
        if UPDATE:
            if got is not None:
                turn[key] = pretty(got)
            if placed or "calls" in turn:
                turn["calls"] = placed
            continue
        if key in turn:
            assert got is not None, where
            assert normal(got) == normal(turn[key]), f"{where}\n{pretty(got)}"
        else:
            assert got is None, f"{where}: unexpected TwiML\n{pretty(got)}"
        assert placed == turn.get("calls", 0), f"{where}: {placed} calls placed"
    if UPDATE:
        path.write_text(yaml.dump(script, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                                  width=100), encoding="utf-8")
    return script


class _Dumper(yaml.SafeDumper):
    pass


def _block(dumper, text: str):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _block)
