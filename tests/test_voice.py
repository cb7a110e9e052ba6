"""Voice: signatures, prompts written for the ear, speech understood, turns applied once, stop
said on a call, missed calls and their call backs, teachers on voice called by the campaigns."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from click.testing import CliRunner
from conftest import PUBLIC_BASE_URL, SMS_FROM
from golden_voice import Player
from sqlalchemy import func, select, update

from bot.contacts.phones import e164
from bot.store.models import (Call, CallAttempt, CampaignRun, Checkin, Message, Person,
                              Recording)
from ivr.prompts import Prompts, missing, placeholders, script, voice_keys
from ivr.speech import heard, number_words, speakable
from ivr.twiml import Gather, Record, Reject, render

HEADTEACHER, TEACHER = "+8801711000003", "+8801711000001"
THURSDAY_1630 = datetime.fromisoformat("2026-11-26T10:30:00+00:00")
SAMPLE = {"name": "মোঃ করিম উদ্দিন", "active": 12, "tried": 7, "answered": 9, "teachers": 14,
          "tried_names": "রহিমা বেগম এবং Anjali Das", "sharers": "রহিমা বেগম",
          "questions": "রহিমা বেগম: মডিউল ৩-এর ভিডিও চলে না (আজ)।",
          "tip": "প্রতি মিটিংয়ে ১৫ মিনিট",
          "title": "পাথর গুনি", "module": 3, "description": "১ থেকে ১০ গুনি", "try_it": "৫ মিনিট",
          "materials": "১০টা পাথর", "digest": "১২টি স্কুলের ৭টি: ৫-৬", "slot": 2, "top": 4,
          "bad": 7, "menu": "0: শুরু, 1: ১-৯", "read_back": "1: 2 (১০-৯৯)", "grade_note": "",
          "summary": "স্তর ২: ৩ জন", "advice": "মডিউল ৩ (স্থানীয় মান)", "change": "x",
          "when": "আগামী রবিবার সকাল ৯টায়", "next": "আগামী রবিবার",
          "remind": "বুধবার সকালে মনে করিয়ে দেব।", "video": "", "day": "বুধবার"}


# -- signatures -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice?call=1&attempt=1",
                                  "/twilio/voice/gather?call=1&step=0",
                                  "/twilio/voice/record?call=1&step=0",
                                  "/twilio/voice/status?call=1&attempt=1",
                                  "/twilio/voice/amd?call=1&attempt=1"])
@pytest.mark.parametrize("signature", [None, "forged", "sign-other-url"])
def test_a_forged_voice_request_gets_403_and_nothing_is_recorded(rt, roster, tw, twilio, path,
                                                                  signature):
    form = twilio.incoming_call_params(from_=HEADTEACHER, to=SMS_FROM)
    form.update(Digits="1", CallStatus="completed", AnsweredBy="human")
    if signature == "sign-other-url":  # a real signature, for another URL
        from conftest import AUTH_TOKEN

        from bot.channels.signature import sign
        signature = sign(AUTH_TOKEN, PUBLIC_BASE_URL + "/twilio/messaging", form)
    response = tw.post(path, form, signature=signature)
    assert response.status_code == 403
    with rt.db.session() as db:
        for model in (Call, CallAttempt, Message, Recording, Checkin):
            assert db.execute(select(func.count()).select_from(model)).scalar() == 0


# -- prompts: written for the ear -----------------------------------------------------------------
SPEAKABLE = re.compile(r"[0-9০-৯=()\-–]")


def test_every_voice_prompt_has_speakable_text_or_audio(rt):
    keys = voice_keys(rt.flows)
    assert {"checkin.ask_meeting", "callback.menu", "weekly.nudge_voice", "ivr.greeting",
            "assessment.ask_high_voice"} <= set(keys)
    assert "weekly.nudge" not in keys and "weekly.reminder" not in keys  # text only
    prompts = Prompts(rt.catalogues, "https://media.example.org/prompts")
    for key in keys:
        if prompts.has_audio(key, "bn"):
            continue
        for lang in ("bn", "en"):
            template = rt.catalogues.template(key, lang)
            assert template, f"{key} has no {lang} text"
            words = re.sub(r"{\w+}", "", template)
            assert not SPEAKABLE.search(words), f"{key} ({lang}) does not read aloud: {template}"
            said = prompts.speech(key, lang, SAMPLE)
            assert said.url is None and not SPEAKABLE.search(said.text), (key, lang, said.text)
        assert re.search(r"[\u0980-\u09FF]", rt.catalogues.template(key, "bn")), key


def test_a_recorded_prompt_is_played_and_one_that_names_a_value_is_spoken(rt, tmp_path):
    (tmp_path / "bn").mkdir()
    (tmp_path / "bn" / "checkin.ask_meeting.mp3").write_bytes(b"ID3")
    (tmp_path / "bn" / "ivr.greeting.mp3").write_bytes(b"ID3")  # names {name}: not used
    prompts = Prompts(rt.catalogues, "https://media.example.org/prompts", audio_dir=tmp_path)
    assert prompts.speech("checkin.ask_meeting", "bn").url == \
        "https://media.example.org/prompts/bn/checkin.ask_meeting.mp3"
    assert prompts.speech("checkin.ask_meeting", "bn-Latn").url is not None  # spoken Bangla
    assert prompts.speech("checkin.ask_meeting", "en").url is None  # English is always speech
    assert prompts.speech("ivr.greeting", "bn", {"name": "x"}).url is None
    unrecorded, dynamic = missing(prompts, rt.flows)
    assert "checkin.ask_meeting" not in unrecorded and "checkin.ask_walks" in unrecorded
    assert "ivr.greeting" in dynamic and "ivr.greeting" not in unrecorded
    rows = list(csv.DictReader(io.StringIO(script(prompts, rt.flows))))
    by_key = {r["key"]: r for r in rows}
    assert by_key["checkin.ask_meeting"]["recorded"] == "yes"
    assert by_key["checkin.ask_walks"]["recorded"] == "no"
    assert by_key["checkin.ask_walks"]["bangla"] == rt.catalogues.text("checkin.ask_walks", "bn")
    assert 5 < float(by_key["checkin.ask_walks"]["seconds"]) < 20
    assert all(not placeholders(rt.catalogues.template(r["key"], "bn")) for r in rows)


def test_sathi_prompts_script_and_check(rt):
    from bot.cli import main

    out = CliRunner().invoke(main, ["prompts", "script"])
    assert out.exit_code == 0, out.output
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(out.output))}
    assert list(next(iter(rows.values()))) == ["key", "bangla", "seconds", "recorded"]
    assert rows["checkin.ask_meeting"]["bangla"].startswith("এবার চারটি ছোট প্রশ্ন।")
    check = CliRunner().invoke(main, ["prompts", "check"])
    assert check.exit_code == 0 and "checkin.ask_meeting" in check.output
    assert CliRunner().invoke(main, ["prompts", "check", "--strict"]).exit_code == 1


def test_the_app_serves_recorded_prompts_and_nothing_else(app):
    client = app.test_client()
    assert client.get("/ivr/prompts/bn/checkin.ask_meeting.mp3").status_code == 404
    assert client.get("/ivr/prompts/bn/..%2F..%2Fbot%2Fconfig.py.mp3").status_code == 404
    assert client.get("/ivr/prompts/xx/checkin.ask_meeting.mp3").status_code == 404


@pytest.mark.parametrize("text,said", [
    ("১০-৯৯", "দশ থেকে নিরানব্বই"),
    ("প্রতি জোড়ায় ১০টা ছোট পাথর", "প্রতি জোড়ায় দশটা ছোট পাথর"),
    ("0=শুরু, 1=১-৯", "শূন্য, শুরু, এক, এক থেকে নয়"),
    ("মডিউল ৩ (স্থানীয় মান): কাঠি", "মডিউল তিন, স্থানীয় মান: কাঠি"),
    ("দু-তিনবার ৫ মিনিট", "দু তিনবার পাঁচ মিনিট"),
    ("স্তর ২: ৩ জন", "স্তর দুই: তিন জন"),
    ("a - b", "a, b"),
])
def test_text_is_made_speakable(text, said):
    assert speakable(text, "bn") == said


def test_numbers_are_words():
    assert [number_words(n, "bn") for n in (0, 1, 2, 9, 15, 21, 99)] == [
        "শূন্য", "এক", "দুই", "নয়", "পনের", "একুশ", "নিরানব্বই"]
    assert number_words(21, "en") == "twenty one" and number_words(3, "bn-Latn") == "তিন"
    assert speakable("1-9 learners (21)", "en") == "one to nine learners, twenty one"


@pytest.mark.parametrize("digits,speech,number,intent", [
    ("3", None, 3, None), (None, "হ্যাঁ", None, "affirm"), (None, "জি, হয়েছে", None, "affirm"),
    (None, "না, হয়নি", None, "deny"), (None, "তিনটা", 3, None),
    (None, "দুইবার হয়েছে", 2, "affirm"),
    (None, "৪", 4, None), (None, "শূন্য", 0, None), (None, "two walks", 2, None),
    (None, "yes", None, "affirm"), (None, "জানি না", None, "deny"),
])
def test_what_is_heard(rt, digits, speech, number, intent):
    inp = heard(digits, speech, rt.levels.numbers)
    assert (inp.number, inp.intent) == (number, intent)


def test_the_question_is_nested_in_the_gather_and_the_rest_said_before_it(rt):
    prompts = Prompts(rt.catalogues, "https://m")
    said = [prompts.speech("checkin.hello", "bn"), prompts.speech("checkin.ask_meeting", "bn")]
    root = ET.fromstring(render(said, Gather(action="https://a/g?call=1&step=2", language="bn")))
    assert [c.tag for c in root] == ["Say", "Gather"]
    gather = root.find("Gather")
    assert [c.tag for c in gather] == ["Say"]
    assert gather.get("action") == "https://a/g?call=1&step=2"
    assert (gather.get("input"), gather.get("language"), gather.get("numDigits"),
            gather.get("actionOnEmptyResult")) == ("dtmf speech", "bn-BD", "1", "true")
    assert root.find("Say").get("language") == "bn-IN"
    root = ET.fromstring(render(said[:1], Record(action="https://a/r", max_length=60,
                                                 empty="https://a/r?empty=1")))
    assert [c.tag for c in root] == ["Say", "Record", "Redirect"]
    assert ET.fromstring(render([], Reject())).find("Reject").get("reason") == "busy"
    english = Prompts(rt.catalogues, "https://m").speech("checkin.hello", "en")
    say = ET.fromstring(render([english], Gather(action="x", language="en"))).find(".//Say")
    assert (say.get("language"), say.get("voice")) == ("en-IN", "Google.en-IN-Wavenet-A")


# -- a call's turns -------------------------------------------------------------------------------
def onboard(rt, *phones, **values):
    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone.in_(phones))
                   .values(onboarded_at=THURSDAY_1630, **values))


@pytest.fixture
def called(rt, roster, tw, work, twilio, clock):
    """The headteacher's check-in call, placed and answered."""
    onboard(rt, HEADTEACHER)
    clock.current = THURSDAY_1630
    player = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
                    script={"phone": "01711000003"})
    player.turn({"campaign": "checkin"})
    player.turn({"answer": True})
    return player


def _says(twiml: str) -> list[str]:
    return [s.text for s in ET.fromstring(twiml).iter("Say")]


def test_a_turn_posted_twice_is_applied_once(rt, called, tw, twilio):
    first = called.twiml
    answered = called.turn({"press": "1"})
    called.twiml = first  # Twilio sends the same request again (the same step)
    again = called.turn({"press": "2"})
    assert _says(again) == _says(answered)  # the question now waiting, asked again
    with rt.db.session() as db:
        row = db.execute(select(Checkin)).scalar_one()
        assert row.meeting is True  # the first answer, not the repeat's "2"
        assert db.execute(select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.channel == "voice")).scalar() == 1


def test_star_repeats_and_zero_helps_but_zero_answers_a_count(rt, called):
    asked = _says(called.twiml)
    assert _says(called.turn({"press": "*"})) == asked[1:]  # all that led to it, not "hello"
    helped = _says(called.turn({"press": "0"}))
    assert helped[0] == rt.catalogues.text("ivr.help", "bn") and helped[-1] == asked[-1]
    called.turn({"press": "2"})  # no meeting: on to the learning walks
    after = _says(called.turn({"press": "0"}))  # none: an answer here, not help
    assert after == [rt.catalogues.text("checkin.ask_lessons", "bn")]
    with rt.db.session() as db:
        row = db.execute(select(Checkin)).scalar_one()
        assert (row.meeting, row.practised, row.walks) == (False, None, 0)


def test_an_answer_the_question_does_not_take_says_so_and_asks_again(rt, called):
    said = _says(called.turn({"press": "7"}))
    assert said == [rt.catalogues.text("checkin.yes_no_hint", "bn"),
                    rt.catalogues.text("checkin.ask_meeting", "bn")]


def test_stop_said_on_a_call_ends_it_and_every_call_and_message_after(rt, called, twilio,
                                                                       clock):
    twiml = called.turn({"say": "বন্ধ"})
    assert _says(twiml) == [rt.catalogues.text("ivr.stopped", "bn")]
    assert ET.fromstring(twiml).find("Hangup") is not None
    called.turn({"status": "completed", "duration": 40})
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == HEADTEACHER)).scalar_one()
        assert person.opted_out
        call = db.execute(select(Call)).scalar_one()
        assert (call.status, call.note) == ("completed", "opted_out")
    clock.advance(days=7)
    called.turn({"campaign": "checkin"})
    assert len(twilio.calls()) == 1  # next week: no call


def test_a_hung_up_call_mid_recording_keeps_the_recording(rt, called, twilio):
    for key in ("1", "1", "2", "3", "1"):
        called.turn({"press": key})
    assert ET.fromstring(called.twiml).find("Record") is not None
    called.turn({"record": 33})
    with rt.db.session() as db:
        rec = db.execute(select(Recording)).scalar_one()
        assert (rec.kind, rec.duration, rec.week) == ("message", 33, "2026-W48")
        assert rec.url.startswith("https://api.twilio.com/") and rec.school_id is not None


# -- missed calls ---------------------------------------------------------------------------------
def _missed(tw, twilio, work, phone, sid=None):
    form = twilio.incoming_call_params(from_=phone, to=SMS_FROM, sid=sid)
    response = tw.post("/twilio/voice", form)
    work()
    assert response.status_code == 200
    assert ET.fromstring(response.get_data(as_text=True)).find("Reject") is not None
    return form


def _call_back_ends(tw, twilio):
    from golden_voice import _path

    sid, created = twilio.placed_calls()[-1]
    form = twilio.call_status_params(sid, "completed", 40)
    assert tw.post(_path(created["StatusCallback"]), form).status_code == 204


def test_an_unknown_number_is_rejected_and_not_called_back(rt, roster, tw, twilio, work):
    _missed(tw, twilio, work, "+8801999999999")
    assert twilio.calls() == []
    with rt.db.session() as db:
        assert db.execute(select(Call.note)).scalar_one() == "unknown_number"


def test_at_most_three_call_backs_a_day_and_a_repeated_request_makes_one(rt, roster, tw, twilio,
                                                                          work, clock):
    clock.current = datetime.fromisoformat("2026-11-24T05:00:00+00:00")
    form = _missed(tw, twilio, work, TEACHER)
    tw.post("/twilio/voice", form)  # Twilio repeats the same request
    work()
    assert len(twilio.calls()) == 1
    for _ in range(3):
        _call_back_ends(tw, twilio)  # (while one is owed, a missed call earns no other)
        clock.advance(minutes=10)
        _missed(tw, twilio, work, TEACHER)
    assert len(twilio.calls()) == 3
    _call_back_ends(tw, twilio)
    clock.current = datetime.fromisoformat("2026-11-24T18:30:00+00:00")  # 00:30 the next day
    _missed(tw, twilio, work, TEACHER)
    assert len(twilio.calls()) == 4
    assert {c["To"] for c in twilio.calls()} == {TEACHER}
    with rt.db.session() as db:
        notes = db.execute(select(Call.note).where(Call.direction == "in").order_by(Call.id)
                           ).scalars().all()
        assert notes[3] == "daily_limit"


def test_an_opted_out_person_is_not_called_back(rt, roster, tw, twilio, work):
    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone == TEACHER)
                   .values(opted_out_at=THURSDAY_1630))
    _missed(tw, twilio, work, TEACHER)
    assert twilio.calls() == []


def test_an_officer_called_back_hears_the_latest_digest(rt, roster, tw, twilio, work, clock):
    officer = e164("01711000005")
    from bot.msgs.outbox import queue_text

    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == officer)).scalar_one()
        queue_text(db, person=person, address=officer, channel="sms", key="digest.weekly",
                   body="চরফ্যাশন: ১২টি স্কুলের ৭টিতে মিটিং (৫৮%)", now=clock())
    player = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
                    script={"phone": "01711000005"})
    player.turn({"missed": True})
    said = _says(player.turn({"answer": True}))
    assert said[1] == ("আপনার সর্বশেষ সারসংক্ষেপ। চরফ্যাশন: বারোটি স্কুলের সাতটিতে মিটিং, "
                       "আটান্ন শতাংশ")
    assert ET.fromstring(player.twiml).find("Hangup") is not None


# -- teachers on voice ----------------------------------------------------------------------------
def test_a_teacher_on_voice_gets_the_nudge_and_reflection_as_calls_not_the_reminder(
        rt, roster, tw, twilio, work, clock):
    onboard(rt, TEACHER, channel="voice")
    player = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
                    script={"phone": "01711000001"})
    clock.current = datetime.fromisoformat("2026-11-22T03:00:00+00:00")  # Sunday 09:00
    player.turn({"campaign": "nudge"})
    assert [c["To"] for c in twilio.calls()] == [TEACHER] and twilio.messages() == []
    said = _says(player.turn({"answer": True}))
    assert said[1].startswith("এ সপ্তাহের কাজ: পাথর গুনি, মডিউল এক।")
    assert ET.fromstring(player.twiml).find("Hangup") is not None
    player.turn({"status": "completed", "duration": 45})
    clock.current = datetime.fromisoformat("2026-11-24T03:00:00+00:00")  # Tuesday
    player.turn({"campaign": "reminder"})
    clock.current = datetime.fromisoformat("2026-11-26T08:00:00+00:00")  # Thursday 14:00
    player.turn({"campaign": "reflection"})
    assert len(twilio.calls()) == 2 and twilio.messages() == []
    said = _says(player.turn({"answer": True}))
    assert "কাজটি ক্লাসে করতে পেরেছেন?" in said[-1]
    said = _says(player.turn({"say": "হ্যাঁ, করেছি"}))
    assert said == [rt.catalogues.text("weekly.reflect_learned_voice", "bn")]
    player.turn({"say": "ওরা দশ পর্যন্ত গুনতে শিখেছে"})
    with rt.db.session() as db:
        runs = dict(db.execute(select(CampaignRun.campaign, CampaignRun.status)).all())
        assert runs == {"nudge": "sent", "reminder": "skipped", "reflection": "sent"}
        assert db.execute(select(CampaignRun.note).where(CampaignRun.campaign == "reminder")
                          ).scalar() == "no_voice_flow"
    from bot.digests.figures import school_week

    with rt.db.session() as db:
        school_id = db.execute(select(Person.school_id).where(Person.phone == TEACHER)).scalar()
        assert school_week(db, school_id, "2026-W48").tried == ("রহিমা বেগম",)


# -- when a part fails ----------------------------------------------------------------------------
def test_a_database_that_fails_mid_call_gets_an_apology_not_an_application_error(
        rt, called, tmp_path):
    from bot.store.db import Database

    working = rt.db
    rt.db = Database(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")  # cannot open
    try:
        twiml = called.turn({"press": "1"})
    finally:
        rt.db.dispose()
        rt.db = working
    assert _says(twiml) == [rt.catalogues.text("ivr.trouble", "bn")]
    assert ET.fromstring(twiml).find("Hangup") is not None
    called.turn({"status": "completed", "duration": 30})  # the database is back
    with rt.db.session() as db:
        call = db.execute(select(Call)).scalar_one()
        assert (call.status, call.note) == ("queued", "cut_off")  # tried again later


def test_redis_down_mid_call_gets_an_apology(rt, called):
    import redis as redis_lib

    working = rt.redis
    rt.redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        twiml = called.turn({"press": "1"})
    finally:
        rt.redis = working
    assert _says(twiml) == [rt.catalogues.text("ivr.trouble", "bn")]


def test_malformed_voice_requests_are_refused_or_ended_politely(rt, called, tw, twilio):
    sid = twilio.placed_calls()[-1][0]
    form = twilio.voice_params(sid, Digits="1")
    assert tw.post("/twilio/voice/gather?call=abc&step=0", form).status_code == 400
    assert tw.post("/twilio/voice/gather?step=0", form).status_code == 400
    assert tw.post("/twilio/voice/status?call=1&attempt=1", {"CallSid": sid}).status_code == 400
    gone = tw.post("/twilio/voice/gather?call=999&step=0", form)
    assert gone.status_code == 200 and "<Hangup" in gone.get_data(as_text=True)
    huge = called.turn({"say": "না " * 5000})  # an oversized answer is still an answer
    assert _says(huge) == [rt.catalogues.text("checkin.ask_walks", "bn")]


def test_a_call_answered_with_nothing_to_say_is_not_tried_again(rt, roster, tw, twilio, work,
                                                                clock):
    """A teacher on voice whose nudge call was never answered has no activity this week: the
    reflection call, once picked up, says so and ends; it is not retried."""
    onboard(rt, TEACHER, channel="voice")
    player = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
                    script={"phone": "01711000001"})
    clock.current = datetime.fromisoformat("2026-11-26T08:00:00+00:00")
    player.turn({"campaign": "reflection"})
    said = _says(player.turn({"answer": True}))
    assert said[-1] == rt.catalogues.text("ivr.not_now", "bn")
    player.turn({"status": "completed", "duration": 9})
    with rt.db.session() as db:
        call = db.execute(select(Call)).scalar_one()
        assert (call.status, call.note) == ("completed", "skipped:no_nudge")
        row = db.execute(select(CampaignRun)).scalar_one()
        assert (row.status, row.note) == ("skipped", "no_nudge")
