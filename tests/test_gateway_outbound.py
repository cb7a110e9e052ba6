"""Messages out through local gateways, as a teacher and an operator see them: each SMS goes on
the channel that serves the number, or the one the teacher last wrote in on; throttling is
retried and a bad number is failed, by the outbox's one policy; a delivery report can ask for a
re-send; each channel keeps its own sending rate. ADN SMS (channels/adnsms.yaml) serves +880;
the phone (channels/smsgate.yaml) serves those who text it; Twilio everyone else."""
import logging
from dataclasses import replace

import pytest
from conftest import GATEWAY_TOKEN, channels_file
from gateway_doubles import AdnDouble, ExampleDouble
from sqlalchemy import select
from test_outbound import JITTER, burst, callback, people, queue, rows, run_jobs

from bot.channels.segments import count
from bot.store.models import DeliveryAttempt

BANGLA = "পাথর গুনি: আজ ৫ মিনিট জোড়ায় জোড়ায় গুনতে দিন।"
PHONE_RATE = 5.0  # messages per second the phone may send in these tests


@pytest.fixture
def adn():
    with AdnDouble() as double:
        yield double


@pytest.fixture
def settings(settings, smsgate_env, adn, tmp_path, monkeypatch):
    monkeypatch.setenv("ADNSMS_URL", adn.url)
    monkeypatch.setenv("ADNSMS_API_KEY", AdnDouble.API_KEY)
    monkeypatch.setenv("ADNSMS_API_SECRET", AdnDouble.API_SECRET)
    monkeypatch.setenv("SMSGATE_RATE", str(PHONE_RATE))
    return replace(settings, channels_file=channels_file(tmp_path, "adnsms.yaml", "smsgate.yaml"))


def providers(rt):
    return [m.provider for m in rows(rt, direction="out")]


def test_each_sms_goes_on_the_channel_that_serves_the_number(rt, adn, smsgate, twilio):
    teacher, = people(rt, 1)
    with rt.db.session() as db:
        from bot.store.models import Person
        abroad = Person(phone="+919876543210", name="Asha", role="teacher", language="en",
                        channel="sms", created_at=rt.now())
        db.add(abroad)
    queue(rt, teacher, [BANGLA])
    queue(rt, abroad, ["Hello"])
    queue(rt, teacher, ["WhatsApp text"], channel="whatsapp")
    run_jobs(rt)
    assert providers(rt) == ["adn", "twilio", "twilio"]  # by message id
    (sent,) = adn.sent()
    assert sent == {"to": "01711009900", "text": BANGLA, "encoding": "UNICODE", "id": sent["id"]}
    # (one person's replies leave in order; two people's in either order)
    assert sorted(m["To"] for m in twilio.messages()) == ["+919876543210",
                                                          f"whatsapp:{teacher.phone}"]
    assert smsgate.sent() == []
    # Bangla counted as Unicode, whichever channel carries it
    assert rows(rt, direction="out")[0].segments == count(BANGLA).segments == 1


def test_a_teacher_who_texts_the_phone_is_answered_from_it_from_then_on(
        rt, roster, phone, adn, smsgate, work):
    teacher = "+8801711000001"
    queue(rt, _person(rt, teacher), ["before she wrote"])
    run_jobs(rt)
    assert phone.sms(teacher, "hi").status_code == 200
    work()
    queue(rt, _person(rt, teacher), ["a week later"])
    run_jobs(rt)
    assert providers(rt) == ["adn", "phone", "phone", "phone"]
    assert [m["text"] for m in adn.sent()] == ["before she wrote"]
    assert smsgate.sent()[-1]["text"] == "a week later"


def _person(rt, phone):
    from bot.store.models import Person
    with rt.db.session() as db:
        return db.execute(select(Person).where(Person.phone == phone)).scalar_one()


def test_a_whatsapp_failure_falls_back_to_sms_on_the_gateway(rt, adn, tw, twilio):
    teacher, = people(rt, 1, channel="whatsapp")
    queue(rt, teacher, [BANGLA])
    run_jobs(rt)
    (wa,) = rows(rt, direction="out")
    callback(tw, twilio, wa.provider_sid, "undelivered", 63024)
    run_jobs(rt)
    assert [(m.channel, m.provider, m.status) for m in rows(rt, direction="out")] == [
        ("whatsapp", "twilio", "undelivered"), ("sms", "adn", "sent")]
    assert [m["text"] for m in adn.sent()] == [BANGLA]


def test_throttling_is_retried_and_delivered_once(rt, roster, phone, adn, smsgate, work):
    teacher = "+8801711000001"
    phone.sms(teacher, "hi")
    smsgate.fail_next("queue_full")  # the phone's queue is full: 503 QueueLimitExceeded
    work()
    first, second = rows(rt, direction="out")
    assert first.status == "queued" and first.error_code == 503 and first.next_attempt_at > rt.now()
    assert second.status == "queued"  # waits behind it, keeping the order
    run_jobs(rt)
    assert [(m.status, m.attempts) for m in rows(rt, direction="out")] == [("sent", 2), ("sent", 1)]
    assert [m["text"][:10] for m in smsgate.sent()] == ["রহিমা বেগম", "কোন ভাষায়"]
    attempts = rows(rt, DeliveryAttempt, message_id=first.id)
    assert [(a.outcome, a.error_code) for a in attempts] == [("retry", 503), ("sent", None)]
    # an aggregator's "try later" code too
    adn.fail_next("unknown")  # 5001 UNKNOWN_ERROR: a telco-end issue
    teacher2, = people(rt, 1)
    queue(rt, teacher2, ["later"])
    run_jobs(rt)
    assert rows(rt, direction="out")[-1].status == "sent" and len(adn.sent()) == 1


def test_a_bad_number_is_failed_and_not_retried(rt, adn):
    teacher, = people(rt, 1)
    adn.fail_next("invalid_number")  # 2001 INVALID_NUMBER
    queue(rt, teacher, [BANGLA, "and the next one"])
    run_jobs(rt)
    bad, nxt = rows(rt, direction="out")
    assert (bad.status, bad.error_code, bad.attempts) == ("failed", 2001, 1)
    assert [a.outcome for a in rows(rt, DeliveryAttempt, message_id=bad.id)] == ["failed"]
    assert nxt.status == "sent"  # the rest of the turn still goes
    assert [m["text"] for m in adn.sent()] == ["and the next one"]


def test_a_wrong_key_fails_loudly_and_logs_no_secret(rt, adn, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    rt.gateways["adn"] = replace(rt.gateways["adn"], send=replace(
        rt.gateways["adn"].send, params={**rt.gateways["adn"].send.params, "api_secret": "wrong"}))
    teacher, = people(rt, 1)
    queue(rt, teacher, [BANGLA])
    run_jobs(rt)
    (msg,) = rows(rt, direction="out")
    assert (msg.status, msg.error_code) == ("failed", 3001)
    assert "3001" in caplog.text  # the operator sees the gateway's code
    assert AdnDouble.API_KEY not in caplog.text and "wrong" not in caplog.text
    assert teacher.phone not in caplog.text


def test_each_channel_keeps_its_own_rate(rt, roster, phone, smsgate, work, twilio):
    teacher = "+8801711000001"
    phone.sms(teacher, "hi")  # she texts the phone: two replies
    phone.sms(teacher, "1")   # and chooses Bangla: one more
    work()
    queue(rt, _person(rt, teacher), ["one", "two", "three"])
    run_jobs(rt)
    times = [r.time for r in smsgate.requests]
    assert len(times) == 6
    assert burst(times, PHONE_RATE) <= JITTER  # never faster than the phone's rate
    from bot.msgs import routing
    with rt.db.session() as db:  # the phone's rate is kept under its own name, not Twilio's
        way = routing.route(rt, db, rows(rt, direction="out")[-1])
        assert (way.provider, way.sender, way.rate) == ("phone", "gateway:phone", PHONE_RATE)
        db.rollback()


def test_a_delivery_report_can_ask_for_a_resend_by_our_own_id(rt, tmp_path, settings):
    """A gateway that reports by the id we gave it ({id}) and says "try again" with a code."""
    with ExampleDouble() as double:
        text = (tmp_path / "channels.yaml")
        text.write_text(f"""
channels:
  - name: local
    type: http
    prefixes: ["+880"]
    send:
      url: {double.url}/send
      params: {{to: "{{to}}", text: "{{text}}", id: "{{id}}"}}
      headers: {{Authorization: "Bearer <token>"}}
    receive: {{token: {GATEWAY_TOKEN}}}
    status:
      fields: {{ref: id, status: status, error: code}}
      statuses: {{delivered: delivered, undelivered: undelivered}}
      retry: [17]
""", encoding="utf-8")
        from bot import runtime
        rt2 = runtime.Runtime(replace(settings, channels_file=text), redis_conn=rt.redis,
                              clock=rt.clock)
        runtime.install(rt2)
        try:
            from app import create_app
            client = create_app({"TESTING": True}, rt=rt2).test_client()
            teacher, = people(rt2, 1)
            queue(rt2, teacher, [BANGLA])
            run_jobs(rt2)
            (msg,) = rows(rt2, direction="out")
            report = {"id": str(msg.id), "status": "undelivered", "code": "17"}
            for _ in range(2):  # the gateway repeats itself: one re-send
                assert client.post(f"/sms/local/status?token={GATEWAY_TOKEN}",
                                   data=report).status_code == 200
            run_jobs(rt2)
            first, again = rows(rt2, direction="out")
            assert (first.status, first.error_code) == ("undelivered", 17)
            assert (again.provider, again.status, again.body) == ("local", "sent", BANGLA)
            assert [m["id"] for m in double.sent()] == [str(first.id), str(again.id)]
        finally:
            runtime.install(rt)
            rt2.close()
