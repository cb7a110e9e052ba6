"""The console's phone simulator: the same path as a real phone (inbound record, the worker's
jobs, the engine, the outbox; the dialer and ivr's conversation for a call), and nothing leaves:
the Twilio double is never asked for anything."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from console_pages import Client, Page, console_app, new_replies
from golden_voice import Player
from sqlalchemy import select

from bot.store.models import Answer, Call, FlowRun, Message, Person
from console.simulator import heard
from ivr import dialer

TRANSCRIPTS = Path(__file__).parent / "testdata" / "transcripts"
CALLS = Path(__file__).parent / "testdata" / "calls"


@pytest.fixture
def console(rt):
    return Client(console_app(rt), rt)


def test_a_reflection_through_the_simulator_gets_the_golden_transcripts_replies(
        rt, roster, console, twilio, clock):
    script = yaml.safe_load((TRANSCRIPTS / "reflection_not_tried_other.yaml").read_text("utf-8"))
    clock.current = datetime.fromisoformat(script["clock"])
    phone = script["phone"]
    page = console.post("/console/simulator/", data={"phone": "০১৭১১০০০০০১"})
    assert page.status_code == 200 and "রহিমা বেগম" in page.get_data(as_text=True)
    for turn in script["turns"]:
        if "at" in turn:
            clock.current = datetime.fromisoformat(turn["at"])
        if "campaign" in turn:
            r = console.post("/console/simulator/campaign",
                             data={"phone": phone, "campaign": turn["campaign"]})
        else:
            r = console.post("/console/simulator/send",
                             data={"phone": phone, "channel": "sms", "text": turn["send"]})
        assert r.status_code == 200
        assert new_replies(r.get_data(as_text=True)) == turn["replies"], turn
    with rt.db.session() as db:
        rows = dict(db.execute(select(Answer.field, Answer.value).join(FlowRun).join(
            Person, Person.id == FlowRun.person_id).where(
            Person.phone == phone, FlowRun.flow == "reflection")).all())
        out = db.execute(select(Message.provider, Message.status).where(
            Message.direction == "out")).all()
    assert rows == script["then"]["answers"]
    assert set(out) == {("simulator", "delivered")}
    assert twilio.requests == []  # nothing left the system


def test_each_reply_shows_its_channel_and_segments(rt, roster, console, twilio, clock):
    r = console.post("/console/simulator/send",
                     data={"phone": "+8801711000002", "channel": "whatsapp", "text": "hi"})
    html = r.get_data(as_text=True)
    replies = new_replies(html)
    assert replies and replies[0].startswith("Welcome to Shikkhok Sathi, Anjali Das!")
    meta = Page(html).texts("meta")
    assert meta[-1].startswith("whatsapp · ") and "সেগমেন্ট" in meta[-1]
    assert twilio.requests == []


def test_an_unrostered_test_number_is_answered_as_a_stranger(rt, roster, console, twilio):
    r = console.post("/console/simulator/send",
                     data={"phone": "01799999999", "channel": "sms", "text": "hi"})
    html = r.get_data(as_text=True)
    assert "রোস্টারে নেই" in html
    assert new_replies(html)  # told how to join
    assert twilio.requests == []


def test_a_bad_phone_is_refused_with_a_reason(rt, console):
    r = console.post("/console/simulator/send", data={"phone": "12", "text": "hi"})
    assert r.status_code == 400
    assert "এটি ফোন নম্বর নয়।" in r.get_data(as_text=True)


def _said(html: str) -> list[str]:
    return Page(html).texts("said")


def test_a_check_in_call_in_the_simulator_says_what_the_real_call_says(
        rt, roster, tw, work, twilio, clock, console):
    """The check-in golden call: its week played through the real path, then the call taken in
    the page. Each turn shows the prompts Twilio would have spoken, as text, and takes keys."""
    script = yaml.safe_load((CALLS / "checkin_keypad.yaml").read_text("utf-8"))
    clock.current = datetime.fromisoformat(script["clock"])
    with rt.db.session() as db:
        for person in db.execute(select(Person).where(Person.phone.in_(
                ["+8801711000001", "+8801711000002"]))).scalars():
            person.onboarded_at = clock()
    player = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock, script=script)
    turns = iter(script["turns"])
    for turn in turns:
        if turn.get("campaign") == "checkin":
            clock.current = datetime.fromisoformat(turn["at"])
            break
        player.turn(turn)
    before = len(twilio.requests)
    catalogues = rt.catalogues
    r = console.post("/console/simulator/call", data={"phone": "01711000003", "kind": "checkin"})
    assert r.status_code == 200
    shown = _said(r.get_data(as_text=True))
    answer = next(turns)
    assert answer.get("answer")
    expected = heard(answer["twiml"], catalogues).said
    assert shown == expected and expected[0].startswith("হ্যালো, মোঃ করিম উদ্দিন")
    assert "কীপ্যাড" in r.get_data(as_text=True)
    with rt.db.session() as db:
        call = db.execute(select(Call).order_by(Call.id.desc()).limit(1)).scalar_one()
    for turn in turns:
        if "press" not in turn:
            break
        step = Page(r.get_data(as_text=True))
        r = console.post(f"/console/simulator/call/{call.id}", data={
            "phone": "01711000003", "step": _step(r.get_data(as_text=True)),
            "digits": turn["press"]})
        assert r.status_code == 200
        expected += heard(turn["twiml"], catalogues).said
        assert _said(r.get_data(as_text=True)) == expected, turn["press"]
        assert step is not None
    assert "কল শেষ।" in r.get_data(as_text=True)
    with rt.db.session() as db:
        call = db.get(Call, call.id)
        assert (call.status, call.attempts) == ("completed", 1)
        assert call.provider_sid.startswith("SIM")
    assert len(twilio.requests) == before  # no call was placed at Twilio


def _step(html: str) -> str:
    import re

    return re.search(r'name="step" value="(\d+)"', html).group(1)


def test_a_real_call_cannot_be_driven_from_the_page(rt, roster, console, clock):
    from bot.msgs.calls import CALLBACK, queue_call

    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == "+8801711000003")).scalar_one()
        call = queue_call(db, person=person, purpose=CALLBACK, flow="callback", now=clock())
        call.provider_sid = "CA" + "1" * 32
        call_id = call.id
    r = console.post(f"/console/simulator/call/{call_id}",
                     data={"phone": "01711000003", "step": "0", "digits": "1"})
    assert r.status_code == 404


def _latest_call(rt) -> Call:
    with rt.db.session() as db:
        call = db.execute(select(Call).order_by(Call.id.desc()).limit(1)).scalar_one()
        db.expunge(call)
        return call


def test_a_call_hung_up_mid_way_is_never_tried_again_for_real(rt, roster, console, twilio,
                                                              clock):
    r = console.post("/console/simulator/call", data={"phone": "01711000003",
                                                      "kind": "callback"})
    assert r.status_code == 200 and "কীপ্যাড" in r.get_data(as_text=True)
    call = _latest_call(rt)
    r = console.post(f"/console/simulator/call/{call.id}", data={
        "phone": "01711000003", "step": "0", "action": "hangup"})
    assert "কল শেষ।" in r.get_data(as_text=True)
    call = _latest_call(rt)
    assert (call.status, call.note) == ("cancelled", "hung_up")
    clock.advance(hours=2)
    assert dialer.dispatch(rt, clock()) == 0  # nothing queued for the real dialer
    assert twilio.requests == []


def test_a_simulated_call_left_open_is_settled_by_the_sweep_without_asking_twilio(
        rt, roster, console, twilio, clock):
    console.post("/console/simulator/call", data={"phone": "01711000003", "kind": "callback"})
    assert _latest_call(rt).status == "in-progress"
    clock.advance(hours=1)
    assert dialer.sweep(rt) == 1
    call = _latest_call(rt)
    assert (call.status, call.note) == ("cancelled", "simulator_left")
    assert twilio.requests == []


def test_a_voice_persons_campaign_is_taken_as_a_call_in_the_page(rt, roster, console, twilio,
                                                                 clock):
    clock.current = datetime.fromisoformat("2026-11-26T10:30:00+00:00")  # Thursday 16:30
    r = console.post("/console/simulator/campaign", data={"phone": "01711000003",
                                                          "campaign": "checkin"})
    said = _said(r.get_data(as_text=True))
    assert said[0] == "হ্যালো, মোঃ করিম উদ্দিন। শিক্ষক সাথী থেকে বলছি।"
    assert _latest_call(rt).provider_sid.startswith("SIM")
    assert twilio.requests == []


def test_a_phone_number_never_sits_in_a_url(rt, roster, console):
    page = console.post("/console/simulator/", data={"phone": "01711000001"})
    html = page.get_data(as_text=True)
    assert 'method="get"' not in html
    assert "01711000001" not in "".join(re.findall(r'(?:action|href)="([^"]*)"', html))


def test_an_officer_may_not_act_as_a_teacher(rt, roster):
    client = Client(console_app(rt), rt, role="officer", email="uno@example.org",
                    district="ভোলা", upazila="চরফ্যাশন")
    assert client.get("/console/simulator/").status_code == 403
    assert client.post("/console/simulator/send", data={"phone": "01711000001",
                                                        "text": "hi"}).status_code == 403
    with rt.db.session() as db:
        assert db.execute(select(Message.id)).first() is None
