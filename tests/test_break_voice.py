"""Voice under attack (issue 11's hostile test): malformed and oversized Twilio requests, status
callbacks out of order, missed calls in a burst, stop said in a phrase, a database that hangs,
a Calls API that times out after taking a call, a worker that dies mid dial. Each test is
something a headteacher (or the programme's staff) would notice: an answer lost, a call twice,
an "application error" instead of a polite Bangla prompt."""
from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from conftest import SMS_FROM
from golden_voice import Player, _path
from sqlalchemy import select, update

from bot.store.models import Call, CallAttempt, Checkin, Person, Recording
from ivr import dialer

HEADTEACHER, TEACHER = "+8801711000003", "+8801711000001"
THURSDAY_1630 = datetime.fromisoformat("2026-11-26T10:30:00+00:00")
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def onboard(rt, *phones):
    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone.in_(phones))
                   .values(onboarded_at=THURSDAY_1630))


@pytest.fixture
def player(rt, roster, tw, work, twilio, clock):
    onboard(rt, HEADTEACHER)
    clock.current = THURSDAY_1630
    return Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
                  script={"phone": "01711000003"})


@pytest.fixture
def called(player):
    """The headteacher's check-in call, placed and answered: the first question waits."""
    player.turn({"campaign": "checkin"})
    player.turn({"answer": True})
    return player


def says(twiml: str) -> list[str]:
    return [s.text for s in ET.fromstring(twiml).iter("Say")]


def text(rt, key: str) -> str:
    return rt.catalogues.text(key, "bn")


def the_call(rt) -> Call:
    with rt.db.session() as db:
        call = db.execute(select(Call).where(Call.direction == "out")).scalar_one()
        db.expunge(call)
        return call


def checkin(rt) -> Checkin | None:
    with rt.db.session() as db:
        row = db.execute(select(Checkin)).scalar_one_or_none()
        if row is not None:
            db.expunge(row)
        return row


def gather(player, **form):
    """Post `form` to the last <Gather>'s action as Twilio would; the raw response."""
    sid = player.twilio.placed_calls()[-1][0]
    action = ET.fromstring(player.twiml).find(".//Gather").get("action")
    return player.tw.post(_path(action), player.twilio.voice_params(sid, **form))


# -- keypad and speech that is not what we expect -------------------------------------------------
@pytest.mark.parametrize("digits", ["①", "²", "1" * 5000, "9" * 500, "1a", "#", "ab"])
def test_odd_keypad_digits_are_asked_again_not_an_application_error(rt, called, digits):
    response = gather(called, Digits=digits)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert says(response.get_data(as_text=True)) == [text(rt, "checkin.yes_no_hint"),
                                                     text(rt, "checkin.ask_meeting")]
    assert checkin(rt) is None


@pytest.mark.parametrize("speech", ["²", "৩" * 5000, "①②"])
def test_odd_digits_said_are_asked_again_not_an_application_error(rt, called, speech):
    response = gather(called, SpeechResult=speech, Confidence="0.8")
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert says(response.get_data(as_text=True))[-1] == text(rt, "checkin.ask_meeting")


def test_bengali_digits_on_the_keypad_answer_and_help_as_ascii_ones(rt, called):
    helped = says(called.turn({"press": "০"}))  # zero: help, as "0" is
    assert helped[0] == text(rt, "ivr.help")
    called.turn({"press": "১"})
    assert checkin(rt).meeting is True


@pytest.mark.parametrize("said,walks", [("৩বার", 3), ("২টা", 2), ("4বার", 4), ("৫ বার", 5)])
def test_a_count_said_in_digits_with_a_counter_is_understood(rt, called, said, walks):
    """Speech recognition writes "তিনবার" as often as "৩বার": both are three walks."""
    called.turn({"press": "2"})  # no meeting: on to the learning walks
    called.turn({"say": said})
    assert checkin(rt).walks == walks


def test_an_empty_or_punctuation_only_speech_result_is_a_silence_not_an_answer(rt, called):
    said = says(called.turn({"say": "।"}))
    assert said == [text(rt, "ivr.didnt_hear"), text(rt, "checkin.ask_meeting")]


# -- oversized fields ------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [
    ("CallSid", "CA" + "f" * 200), ("AnsweredBy", "machine_end_other_" * 20),
    ("CallDuration", "9" * 30), ("ErrorCode", "9" * 30), ("CallStatus", "x" * 300)])
def test_an_oversized_status_callback_is_kept_not_a_server_error(rt, called, tw, twilio, field,
                                                                  value):
    sid, created = twilio.placed_calls()[-1]
    form = {**twilio.call_status_params(sid, "completed", 40), field: value}
    assert tw.post(_path(created["StatusCallback"]), form).status_code == 204
    with rt.db.session() as db:
        assert db.execute(select(CallAttempt).where(CallAttempt.outcome == "status")
                          ).scalar_one() is not None


def test_an_oversized_amd_callback_is_kept_not_a_server_error(rt, called, tw, twilio):
    sid, created = twilio.placed_calls()[-1]
    form = {**twilio.amd_params(sid, "human"), "CallSid": "CA" + "e" * 200}
    assert tw.post(_path(created["AsyncAmdStatusCallback"]), form).status_code == 204


def test_a_recording_with_an_absurd_duration_is_kept_and_the_call_goes_on(rt, called):
    for key in ("1", "1", "2", "3", "1"):
        called.turn({"press": key})
    sid = called.twilio.placed_calls()[-1][0]
    action = ET.fromstring(called.twiml).find(".//Record").get("action")
    form = called.twilio.voice_params(
        sid, RecordingSid="RE" + "a" * 32, RecordingDuration="9" * 20, Digits="#",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "a" * 32)
    response = called.tw.post(_path(action), form)
    assert text(rt, "ivr.trouble") not in says(response.get_data(as_text=True))
    with rt.db.session() as db:
        assert db.execute(select(Recording)).scalar_one().duration > 0


# -- status callbacks out of order, twice ---------------------------------------------------------
def finish(player):
    for key in ("1", "1", "2", "3", "2"):
        player.turn({"press": key})
    assert ET.fromstring(player.twiml).find("Hangup") is not None


@pytest.mark.parametrize("late", ["no-answer", "busy", "failed"])
def test_a_failure_status_after_a_finished_check_in_calls_nobody_again(rt, called, twilio, clock,
                                                                        late):
    finish(called)
    called.turn({"status": late})  # a report that cannot be right: the flow was finished
    clock.advance(days=1)
    called.turn({"dial": True})
    assert len(twilio.calls()) == 1
    assert the_call(rt).status == "completed"


def test_completed_before_in_progress_and_a_duplicate_completed_resume_once(rt, called, twilio,
                                                                             clock):
    called.turn({"press": "1"})
    called.turn({"status": "completed", "duration": 30})  # hung up mid-check-in
    called.turn({"status": "in-progress"})  # late
    called.turn({"status": "completed", "duration": 30})  # again
    call = the_call(rt)
    assert (call.status, call.note, call.attempts) == ("queued", "cut_off", 1)
    assert call.next_attempt_at == THURSDAY_1630 + timedelta(minutes=15)
    clock.current = call.next_attempt_at
    called.turn({"dial": True})
    assert len(twilio.calls()) == 2
    said = says(called.turn({"answer": True}))
    assert said[-1] == text(rt, "checkin.ask_practised")  # the first unanswered question
    assert checkin(rt).meeting is True  # the answer before the hang-up is kept


# -- missed calls ---------------------------------------------------------------------------------
def missed(tw, twilio, work, phone):
    form = twilio.incoming_call_params(from_=phone, to=SMS_FROM)
    response = tw.post("/twilio/voice", form)
    work()
    assert response.status_code == 200
    assert ET.fromstring(response.get_data(as_text=True)).find("Reject") is not None


def test_the_same_number_twenty_times_in_a_minute_is_called_back_once(rt, roster, tw, twilio,
                                                                       work, clock):
    clock.current = datetime.fromisoformat("2026-11-24T05:00:00+00:00")
    for _ in range(20):
        missed(tw, twilio, work, TEACHER)
        clock.advance(seconds=3)
    assert len(twilio.calls()) == 1
    sid, created = twilio.placed_calls()[-1]
    assert tw.post(_path(created["StatusCallback"]),
                   twilio.call_status_params(sid, "completed", 50)).status_code == 204
    clock.advance(minutes=10)
    missed(tw, twilio, work, TEACHER)  # the call back is over: a new one may be asked for
    assert len(twilio.calls()) == 2


@pytest.mark.parametrize("who", ["+8801999999999", "anonymous", "+266696687", ""])
def test_a_missed_call_from_no_one_we_know_gets_no_call_back(rt, roster, tw, twilio, work, who):
    form = twilio.incoming_call_params(from_=who, to=SMS_FROM)
    response = tw.post("/twilio/voice", form)
    work()
    assert response.status_code in (200, 400)
    assert twilio.calls() == []


def test_a_missed_call_while_the_database_is_down_is_called_back_when_it_is_up(
        rt, roster, tw, twilio, work, tmp_path):
    from bot.store.db import Database

    working = rt.db
    rt.db = Database(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    try:
        form = twilio.incoming_call_params(from_=TEACHER, to=SMS_FROM)
        response = tw.post("/twilio/voice", form)
    finally:
        rt.db.dispose()
        rt.db = working
    assert ET.fromstring(response.get_data(as_text=True)).find("Reject") is not None
    dialer.sweep(rt)  # the dialer's cron, once the database is back
    dialer.dispatch(rt, rt.now())
    work()
    assert [c["To"] for c in twilio.calls()] == [TEACHER]


# -- stop, said as people say it ------------------------------------------------------------------
@pytest.mark.parametrize("said", ["বন্ধ করুন।", "কল বন্ধ করুন", "কল বন্ধ করেন।", "stop calling"])
def test_stop_said_as_a_phrase_on_a_call_is_honoured(rt, called, twilio, clock, said):
    twiml = called.turn({"say": said})
    assert says(twiml) == [text(rt, "ivr.stopped")]
    with rt.db.session() as db:
        assert db.execute(select(Person).where(Person.phone == HEADTEACHER)
                          ).scalar_one().opted_out


# -- the database hangs ---------------------------------------------------------------------------
@pytest.mark.skipif(not POSTGRES, reason="a database that accepts TCP and never answers: "
                                         "PostgreSQL through the TCP proxy")
def test_a_database_that_hangs_mid_call_gets_a_bangla_apology_before_twilio_gives_up(
        rt, called, database_url):
    from sqlalchemy.engine import make_url
    from tcp_proxy import TcpProxy

    from bot.store.db import Database

    url = make_url(database_url)
    working = rt.db
    got: dict = {}
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        rt.db = Database(url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False))
        proxy.hang()

        def post():
            got["response"] = gather(called, Digits="1")

        t = threading.Thread(target=post, daemon=True)
        t.start()
        t.join(14)  # Twilio's 15 s, less the network's share
        answered = not t.is_alive()
        proxy.pass_()
        t.join(30)
    rt.db.dispose()
    rt.db = working
    assert answered, "the webhook was still waiting on the database when Twilio gave up"
    assert says(got["response"].get_data(as_text=True)) == [text(rt, "ivr.trouble")]


def test_a_database_locked_by_another_writer_mid_call_gets_an_apology_in_time(
        rt, called, database_url):
    """SQLite: another process holds the write lock (a long import): the turn gives up in
    time and apologises, rather than waiting the 30 s SQLite would."""
    if POSTGRES:
        pytest.skip("SQLite's write lock")
    import sqlite3
    import time

    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1)
    other.execute("BEGIN EXCLUSIVE")
    try:
        start = time.monotonic()
        response = gather(called, Digits="1")
        took = time.monotonic() - start
    finally:
        other.rollback()
        other.close()
    assert says(response.get_data(as_text=True)) == [text(rt, "ivr.trouble")]
    assert took < 14, f"the turn waited {took:.0f} s: Twilio gives up at 15"


# -- the Calls API and the worker -----------------------------------------------------------------
def test_a_calls_api_that_times_out_after_taking_the_call_places_no_second_call(
        rt, player, twilio, clock, monkeypatch):
    from bot.channels import twilio_voice

    monkeypatch.setattr(twilio_voice, "TIMEOUT", 1.0)
    rt._voice = None  # made again, with the short timeout
    twilio.delay_next(3.0, resource="Calls")  # Twilio takes the call, its answer is lost
    player.turn({"campaign": "checkin"})
    assert len(twilio.placed_calls()) == 1
    player.turn({"status": "initiated"})  # the call Twilio took reports in, as it does at once
    for _ in range(4):  # the dialer's cron, a few minutes of it
        clock.advance(seconds=45)
        player.turn({"dial": True})
        dialer.sweep(rt)
    assert len(twilio.placed_calls()) == 1, "the person was called twice"
    player.turn({"status": "ringing"})
    said = says(player.turn({"answer": True}))
    assert said[-1] == text(rt, "checkin.ask_meeting")
    player.turn({"press": "1"})
    assert checkin(rt).meeting is True


def test_a_calls_api_timeout_with_no_report_after_is_tried_again_once(rt, player, twilio, clock,
                                                                       monkeypatch):
    """The request went out, no answer came, and no status callback ever names the call: after
    a while it counts as a try not reached and goes again on the retry schedule, once."""
    from bot.channels import twilio_voice

    monkeypatch.setattr(twilio_voice, "TIMEOUT", 1.0)
    rt._voice = None
    twilio.delay_next(3.0, resource="Calls", create=False)  # it never got through after all
    player.turn({"campaign": "checkin"})
    assert the_call(rt).status == "dialling"
    clock.advance(minutes=3)
    assert dialer.sweep(rt) == 1
    call = the_call(rt)
    assert (call.status, call.next_attempt_at) == ("queued", clock() + timedelta(minutes=15))
    clock.current = call.next_attempt_at
    player.turn({"dial": True})
    assert len(twilio.calls()) == 1 and the_call(rt).status == "ringing"


def test_a_worker_killed_after_twilio_took_the_call_places_it_once(rt, player, twilio, clock,
                                                                    work, monkeypatch):
    """kill -9 between the Calls API's answer and its record: the row says `dialling` with no
    CallSid. Twilio's first status callback names the call; neither the sweep nor the dialer
    places it again."""
    from bot.campaigns import fanout as campaign

    campaign.plan(rt, "checkin", rt.calendar.week_of(clock()), clock(), immediately=True)
    campaign.dispatch(rt, clock())
    work()
    dialer.dispatch(rt, clock())
    real = rt.voice().call

    class Killed(BaseException):
        pass

    def dies_after(out):
        real(out)
        raise Killed()  # the process is gone before it records anything

    monkeypatch.setattr(rt.voice(), "call", dies_after)
    with rt.db.session() as db:
        call_id = db.execute(select(Call.id).where(Call.direction == "out")).scalar_one()
    with pytest.raises(Killed):
        dialer.place(call_id)
    monkeypatch.undo()
    assert the_call(rt).status == "dialling"
    player.turn({"status": "initiated"})
    for _ in range(5):
        clock.advance(minutes=1)
        dialer.sweep(rt)
        player.turn({"dial": True})
    assert len(twilio.placed_calls()) == 1
    assert the_call(rt).provider_sid == twilio.placed_calls()[-1][0]


# -- retries and the school calendar --------------------------------------------------------------
def test_the_last_retry_skips_the_winter_break(rt, roster, tw, work, twilio, clock):
    onboard(rt, HEADTEACHER)
    clock.current = datetime.fromisoformat("2026-12-17T10:30:00+00:00")  # Thursday 16:30
    p = Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
               script={"phone": "01711000003"})
    p.turn({"campaign": "checkin"})
    for _ in range(2):
        p.turn({"status": "no-answer"})
        clock.current = the_call(rt).next_attempt_at
        p.turn({"dial": True})
    p.turn({"status": "no-answer"})
    when = rt.calendar.local(the_call(rt).next_attempt_at)
    assert when.strftime("%Y-%m-%d %a %H:%M") == "2027-01-03 Sun 16:30"


# -- what is said ---------------------------------------------------------------------------------
@pytest.mark.parametrize("said,spoken", [
    ("আমার নম্বর ০১৭১১০০০০০১", "আমার নম্বর শূন্য এক সাত এক এক শূন্য শূন্য শূন্য শূন্য শূন্য এক"),
    ("কোড 0042", "কোড শূন্য শূন্য চার দুই"),
])
def test_a_phone_number_or_a_code_is_read_digit_by_digit(said, spoken):
    from ivr.speech import speakable

    assert speakable(said, "bn") == spoken


def test_an_english_speakers_apology_is_in_english(rt, called, tmp_path):
    """The trouble prompt is in the person's language when the call knows it (Redis down)."""
    import redis as redis_lib

    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone == HEADTEACHER).values(language="en"))
    working = rt.redis
    rt.redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        twiml = called.turn({"press": "1"})
    finally:
        rt.redis = working
    assert says(twiml) == [rt.catalogues.text("ivr.trouble", "en")]


def test_a_check_in_due_while_the_headteacher_is_on_a_call_back_waits_for_it(rt, player, twilio,
                                                                             clock, tw, work):
    """A flash call at 16:29 is called back at once; the check-in due at 16:30 must not ring
    them mid-conversation (a busy that would use up a try), but follow when the call back ends."""
    clock.current = THURSDAY_1630 - timedelta(minutes=1)
    missed(tw, twilio, work, HEADTEACHER)
    player.turn({"answer": True})  # on the call back's menu
    clock.current = THURSDAY_1630
    player.turn({"campaign": "checkin"})
    assert len(twilio.calls()) == 1, "rung twice at once"
    sid, created = twilio.placed_calls()[-1]
    tw.post(_path(created["StatusCallback"]), twilio.call_status_params(sid, "completed", 70))
    clock.advance(minutes=3)
    player.turn({"dial": True})
    assert len(twilio.calls()) == 2
    with rt.db.session() as db:
        check_in = db.execute(select(Call).where(Call.purpose == "campaign")).scalar_one()
        assert check_in.attempts == 1  # waiting used no try


def test_a_duplicated_final_report_does_not_move_the_retry(rt, called, clock):
    called.turn({"status": "no-answer"})
    due = the_call(rt).next_attempt_at
    clock.advance(minutes=5)
    called.turn({"status": "no-answer"})  # Twilio repeats the callback
    assert the_call(rt).next_attempt_at == due


def test_a_retry_goes_to_the_headteachers_number_of_today_not_of_last_week(rt, called, twilio,
                                                                            clock):
    """The roster changed the headteacher's number between two tries (the old SIM passed on
    to someone else): the retry rings the new number, never the old one."""
    called.turn({"status": "no-answer"})
    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone == HEADTEACHER)
                   .values(phone="+8801711999888"))
    clock.current = the_call(rt).next_attempt_at
    called.turn({"dial": True})
    assert [c["To"] for c in twilio.calls()] == [HEADTEACHER, "+8801711999888"]


def test_a_retry_whose_calls_api_answer_is_lost_is_settled_in_minutes_not_half_an_hour(
        rt, called, twilio, clock, monkeypatch):
    """The second try's request goes out and no answer, and no report, ever comes: it must not
    pass for the first try (whose CallSid the row still held) and wait for the 30-min fetch."""
    from bot.channels import twilio_voice

    called.turn({"status": "no-answer"})
    monkeypatch.setattr(twilio_voice, "TIMEOUT", 1.0)
    rt._voice = None
    twilio.delay_next(3.0, resource="Calls", create=False)
    clock.current = the_call(rt).next_attempt_at
    called.turn({"dial": True})
    assert (the_call(rt).status, the_call(rt).provider_sid) == ("dialling", None)
    clock.advance(minutes=3)
    dialer.sweep(rt)
    call = the_call(rt)
    assert (call.status, call.attempts) == ("queued", 2)
    assert call.next_attempt_at == clock() + timedelta(hours=1)


@pytest.mark.parametrize("said", ["हाँ", "oui", "是的"])
def test_an_answer_in_another_language_is_asked_again(rt, called, said):
    assert says(called.turn({"say": said})) == [text(rt, "checkin.yes_no_hint"),
                                                text(rt, "checkin.ask_meeting")]
    assert checkin(rt) is None
