"""The dialer against the Twilio double's Calls API: the retry schedule, API errors, the sending
window, one call rate per caller number, late and lost reports, answering machines."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from golden_voice import Player
from sqlalchemy import select, update

from bot.store.models import Call, CallAttempt, CampaignRun, Person
from ivr import dialer

HEADTEACHER = "+8801711000003"
THURSDAY_1630 = datetime.fromisoformat("2026-11-26T10:30:00+00:00")  # the check-in's start


@pytest.fixture
def player(rt, roster, tw, work, twilio, clock):
    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone == HEADTEACHER)
                   .values(onboarded_at=THURSDAY_1630))
    clock.current = THURSDAY_1630
    return Player(rt=rt, tw=tw, work=work, twilio=twilio, clock=clock,
                  script={"phone": "01711000003"})


def the_call(rt) -> Call:
    with rt.db.session() as db:
        call = db.execute(select(Call).where(Call.direction == "out")).scalar_one()
        db.expunge(call)
        return call


def local(rt, moment) -> str:
    return rt.calendar.local(moment).strftime("%a %H:%M")


def test_the_retry_schedule_15_minutes_1_hour_next_school_day_then_given_up(rt, player, twilio,
                                                                             clock):
    player.turn({"campaign": "checkin"})
    tries = []
    for status, after in (("no-answer", timedelta(minutes=15)), ("busy", timedelta(hours=1)),
                          ("failed", None), ("no-answer", None)):
        tries.append(local(rt, clock()))
        player.turn({"status": status})
        call = the_call(rt)
        if call.status == "unreached":
            break
        assert call.status == "queued" and call.note == status
        if after is not None:
            assert call.next_attempt_at == clock() + after
        clock.current = call.next_attempt_at - timedelta(seconds=1)
        player.turn({"dial": True})  # not yet due
        clock.current = call.next_attempt_at
        player.turn({"dial": True})
    assert tries == ["Thu 16:30", "Thu 16:45", "Thu 17:45", "Sun 16:30"]
    assert len(twilio.calls()) == 4  # the first try and 3 retries
    call = the_call(rt)
    assert (call.status, call.attempts, call.note) == ("unreached", 4, "no-answer")
    with rt.db.session() as db:
        row = db.execute(select(CampaignRun).where(CampaignRun.campaign == "checkin")).scalar_one()
        assert (row.status, row.note) == ("skipped", "not_reached")
        outcomes = db.execute(select(CallAttempt.attempt, CallAttempt.outcome, CallAttempt.status)
                              .order_by(CallAttempt.id)).all()
    assert outcomes == [(1, "placed", None), (1, "status", "no-answer"),
                        (2, "placed", None), (2, "status", "busy"),
                        (3, "placed", None), (3, "status", "failed"),
                        (4, "placed", None), (4, "status", "no-answer")]


def test_the_retry_schedule_is_configurable(rt, player, twilio, clock):
    rt.settings = dataclasses.replace(rt.settings, call_retries="5m")
    player.turn({"campaign": "checkin"})
    player.turn({"status": "busy"})
    assert the_call(rt).next_attempt_at == clock() + timedelta(minutes=5)
    clock.advance(minutes=5)
    player.turn({"dial": True})
    player.turn({"status": "busy"})
    assert the_call(rt).status == "unreached" and len(twilio.calls()) == 2
    assert dialer.retries("15m, 2h ,next_school_day") == [
        timedelta(minutes=15), timedelta(hours=2), dialer.NEXT_SCHOOL_DAY]
    with pytest.raises(dialer.RetryScheduleError, match="'tomorrow'"):
        dialer.retries("15m,tomorrow")


def test_a_retry_past_the_window_waits_for_the_next_school_day(rt, player, clock):
    player.turn({"campaign": "checkin"})
    clock.current = datetime.fromisoformat("2026-11-26T12:30:00+00:00")  # Thursday 18:30
    player.turn({"status": "no-answer"})  # + 15 minutes is 18:45: still inside
    assert local(rt, the_call(rt).next_attempt_at) == "Thu 18:45"
    clock.current = the_call(rt).next_attempt_at
    player.turn({"dial": True})
    player.turn({"status": "no-answer"})  # + 1 hour is 19:45: the next school day's 09:00
    assert local(rt, the_call(rt).next_attempt_at) == "Sun 09:00"


def test_campaign_calls_wait_for_the_window_call_backs_do_not(rt, player, twilio, clock, tw,
                                                               work):
    clock.current = datetime.fromisoformat("2026-11-26T10:30:00+00:00")
    from bot.campaigns import fanout as campaign

    campaign.plan(rt, "checkin", "2026-W48", clock(), immediately=True)
    campaign.dispatch(rt, clock())
    work()
    clock.current = datetime.fromisoformat("2026-11-26T13:30:00+00:00")  # 19:30
    assert dialer.dispatch(rt, clock()) == 0
    player.phone = "01711000001"
    player.turn({"missed": True})  # a call back goes at once, whatever the hour
    assert [c["To"] for c in twilio.calls()] == ["+8801711000001"]
    clock.current = datetime.fromisoformat("2026-11-29T03:00:00+00:00")  # Sunday 09:00
    assert dialer.dispatch(rt, clock()) == 1
    work()
    assert twilio.calls()[-1]["To"] == HEADTEACHER


def test_calls_api_errors_a_permanent_one_ends_the_call_a_rate_limit_uses_no_try(rt, player,
                                                                                 twilio, clock):
    twilio.fail_next(429, 20429, "Too Many Requests", resource="Calls")
    player.turn({"campaign": "checkin"})
    call = the_call(rt)
    assert (call.status, call.attempts, call.api_errors) == ("queued", 0, 1)
    assert call.next_attempt_at == clock() + timedelta(seconds=dialer.API_BACKOFF)
    twilio.fail_next(400, 21217, "Phone number does not appear to be valid", resource="Calls")
    clock.current = call.next_attempt_at
    player.turn({"dial": True})
    call = the_call(rt)
    assert (call.status, call.error_code, call.note) == ("failed", 21217, "error 21217")
    assert twilio.calls() == []
    with rt.db.session() as db:
        row = db.execute(select(CampaignRun).where(CampaignRun.campaign == "checkin")).scalar_one()
        assert (row.status, row.note) == ("skipped", "not_reached")


def test_one_call_rate_per_caller_number_shared_by_all_workers(rt, roster, twilio, work, clock):
    """Twenty call backs due at once, the caller number limited to 10 calls a second: the
    double sees them spaced out by the limiter, not in a burst."""
    from bot.msgs.calls import CALLBACK, queue_call

    rt.settings = dataclasses.replace(rt.settings, call_rate=10.0)
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == HEADTEACHER)).scalar_one()
        for _ in range(20):
            queue_call(db, person=person, purpose=CALLBACK, flow="callback", now=clock())
    assert dialer.dispatch(rt, clock()) == 20
    work()
    times = sorted(r.time for r in twilio.requests if r.path.endswith("/Calls.json"))
    assert len(times) == 20
    worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert worst <= 11  # one burst slot, then one every 0.1 s
    assert times[-1] - times[0] >= 1.8


def test_a_report_about_an_earlier_try_is_kept_but_not_acted_on(rt, player, tw, twilio, clock):
    player.turn({"campaign": "checkin"})
    sid1, created1 = twilio.placed_calls()[-1]
    player.turn({"status": "no-answer"})
    clock.advance(minutes=15)
    player.turn({"dial": True})
    late = twilio.call_status_params(sid1, "completed", 12)  # try 1's, arriving now
    from golden_voice import _path

    assert tw.post(_path(created1["StatusCallback"]), late).status_code == 204
    call = the_call(rt)
    assert (call.status, call.attempts) == ("ringing", 2)
    with rt.db.session() as db:
        assert db.execute(select(CallAttempt.attempt, CallAttempt.status)
                          .where(CallAttempt.provider_sid == sid1)
                          .order_by(CallAttempt.id.desc()).limit(1)).one() == (1, "completed")


def test_a_status_callback_that_beats_the_api_answer_finds_its_call(rt, player, twilio, tw):
    """Twilio may report on a call before the Calls API's answer reaches us: the URL names it."""
    from golden_voice import _path

    def early(sid, form):
        params = twilio.call_status_params(sid, "ringing")
        assert tw.post(_path(form["StatusCallback"]), params).status_code == 204

    twilio.before_answer = early
    player.turn({"campaign": "checkin"})
    call = the_call(rt)
    assert call.status == "ringing" and call.provider_sid == twilio.placed_calls()[-1][0]


def test_the_sweep_settles_a_try_we_never_heard_the_end_of(rt, player, twilio, clock):
    player.turn({"campaign": "checkin"})
    sid = twilio.placed_calls()[-1][0]
    twilio.set_call(sid, status="no-answer")  # its status callback never came
    assert dialer.sweep(rt) == 0  # not silent for long enough yet
    clock.advance(minutes=31)
    assert dialer.sweep(rt) == 1
    call = the_call(rt)
    assert (call.status, call.note) == ("queued", "no-answer")
    assert any(r.method == "GET" and r.path.endswith(f"/Calls/{sid}.json")
               for r in twilio.requests)


def test_the_sweep_requeues_a_call_whose_job_was_lost(rt, player, clock):
    player.turn({"campaign": "checkin"})
    with rt.db.session() as db:  # as if the worker died between the claim and the Calls API
        db.execute(update(Call).values(status="placing", updated_at=clock()))
    clock.advance(minutes=3)
    assert dialer.sweep(rt) == 1
    assert the_call(rt).status == "queued"


def test_a_machine_with_voicemail_none_is_hung_up_on(rt, player, twilio):
    rt.settings = dataclasses.replace(rt.settings, voicemail="none")
    player.turn({"campaign": "checkin"})
    assert twilio.calls()[-1]["MachineDetection"] == "Enable"
    assert twilio.calls()[-1]["AsyncAmd"] == "true"
    player.turn({"answer": True})
    twiml = player.turn({"amd": "machine_start"})
    assert twiml.endswith("<Response><Hangup /></Response>")
    player.turn({"status": "completed", "duration": 6})
    call = the_call(rt)
    assert (call.status, call.note) == ("queued", "machine")


def test_a_person_who_opted_out_before_the_call_is_not_called(rt, player, twilio, clock, work):
    from bot.campaigns import fanout as campaign

    campaign.plan(rt, "checkin", "2026-W48", clock(), immediately=True)
    campaign.dispatch(rt, clock())
    work()
    with rt.db.session() as db:
        db.execute(update(Person).where(Person.phone == HEADTEACHER)
                   .values(opted_out_at=clock()))
    dialer.dispatch(rt, clock())
    work()
    assert twilio.calls() == []
    assert (the_call(rt).status, the_call(rt).note) == ("cancelled", "opted_out")


def test_without_twilio_a_call_fails_at_once_and_says_why(rt, roster, clock, work):
    rt.settings = dataclasses.replace(rt.settings, twilio_account_sid=None)
    rt._voice = None
    from bot.msgs.calls import CALLBACK, queue_call

    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == HEADTEACHER)).scalar_one()
        queue_call(db, person=person, purpose=CALLBACK, flow="callback", now=clock())
    dialer.dispatch(rt, clock())
    work()
    assert (the_call(rt).status, the_call(rt).note) == ("failed", "call_failed")
