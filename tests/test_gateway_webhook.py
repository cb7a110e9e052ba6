"""Inbound SMS and delivery reports from local gateways, as a teacher and an operator notice
them: a teacher who texts the phone gateway is answered from it; a forged or tokenless request is
refused (403) and nothing is recorded; a gateway's retry is answered once; delivery reports move
the message's status. The phone is SMS Gateway for Android (channels/smsgate.yaml), signing its
webhooks; the form gateway is the issue's example (channels/example.yaml)."""
from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import channels_file
from gateway_doubles import ExampleDouble
from sqlalchemy import func, select

from bot.store.models import Message, Person

TEACHER = "+8801711000001"  # রহিমা বেগম in the demo roster
EXAMPLE_TOKEN = "<shared secret>"


@pytest.fixture
def example():
    with ExampleDouble() as double:
        yield double


@pytest.fixture
def settings(settings, smsgate_env, example, tmp_path, monkeypatch):
    monkeypatch.setenv("BULKSMSBD_API_KEY", "k")
    monkeypatch.setenv("BULKSMSBD_SENDER_ID", "8809601000000")
    path = channels_file(tmp_path, "smsgate.yaml", "example.yaml", "bulksmsbd.yaml",
                         replace_text={"https://gateway.example": example.url,
                                       'prefixes: ["+880"]': "prefixes: []"})
    return replace(settings, channels_file=path)


def inbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "in")
                          .order_by(Message.id)).scalars().all()


def outbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "out")
                          .order_by(Message.id)).scalars().all()


def form(app, data, token=EXAMPLE_TOKEN, bearer=False, kind="receive"):
    headers = {"Authorization": f"Bearer {token}"} if bearer and token else {}
    query = {"token": token} if token and not bearer else {}
    return app.test_client().post(f"/sms/local/{kind}", data=data, query_string=query,
                                  headers=headers)


def test_a_teacher_who_texts_the_phone_is_answered_from_it(rt, roster, phone, smsgate, work, twilio):
    assert phone.sms(TEACHER, "hi", event_id="Ey6ECgOkVVFjz3CL48B8C").status_code == 200
    (msg,) = inbound(rt)
    assert (msg.provider, msg.provider_sid, msg.channel) == ("phone", "phone:Ey6ECgOkVVFjz3CL48B8C", "sms")
    work()
    sent = smsgate.sent()
    assert [m["to"] for m in sent] == [TEACHER, TEACHER]
    assert sent[0]["text"].startswith("রহিমা বেগম, শিক্ষক সাথীতে আপনাকে স্বাগতম!")
    assert twilio.messages() == []
    assert [(m.provider, m.status) for m in outbound(rt)] == [("phone", "sent")] * 2
    assert [m.provider_sid for m in outbound(rt)] == [f"phone:{m['id']}" for m in sent]


def _forged(phone, smsgate, clock):
    """Requests that must not be taken: (description, response)."""
    body, headers = smsgate.received(TEACHER, "hi", clock())
    stale_body, stale = smsgate.received(TEACHER, "hi", clock() - timedelta(minutes=10))
    other_body, other_key = smsgate.webhook("sms:received", {"message": "hi", "phoneNumber": TEACHER},
                                            clock(), key="not-the-signing-key")
    no_signature = {k: v for k, v in headers.items() if k != "X-Signature"}
    return [
        ("no token", phone.post("receive", body, headers, token=None)),
        ("a wrong token", phone.post("receive", body, headers, token="guess")),
        ("no signature", phone.post("receive", body, no_signature)),
        ("another key's signature", phone.post("receive", other_body, other_key)),
        ("a body changed after signing", phone.post("receive", body.replace(b"hi", b"STOP"), headers)),
        ("a replayed old request", phone.post("receive", stale_body, stale)),
        ("a forged delivery report", phone.post("status", body, no_signature)),
        ("a signature that is not hex", phone.post("receive", body, {**headers, "X-Signature": "ü" * 64})),
        ("a timestamp far too long", phone.post("receive", body, {**headers, "X-Timestamp": "9" * 5000})),
        ("a timestamp in other digits", phone.post("receive", body, {**headers, "X-Timestamp": "١٢٣"})),
    ]


def test_forged_or_tokenless_requests_get_403_and_nothing_is_recorded(rt, roster, phone, smsgate,
                                                                        clock, work, app):
    for what, response in _forged(phone, smsgate, clock):
        assert response.status_code == 403, what
    for what, response in [
            ("no token", form(app, {"from": TEACHER, "text": "hi", "id": "1"}, token=None)),
            ("a wrong token", form(app, {"from": TEACHER, "text": "hi", "id": "1"}, token="x")),
            ("a wrong bearer", form(app, {"from": TEACHER, "text": "hi", "id": "1"}, token="x",
                                    bearer=True)),
            ("a channel that receives nothing",
             app.test_client().post("/sms/bulksmsbd/receive?token=k", data={"from": TEACHER}))]:
        assert response.status_code == 403, what
    assert app.test_client().post("/sms/nowhere/receive").status_code == 404
    work()
    assert inbound(rt) == [] and smsgate.sent() == []


def test_the_same_gateway_id_three_times_is_answered_once(rt, roster, phone, smsgate, work, app):
    for _ in range(3):  # the phone retries a webhook with the event's id unchanged
        assert phone.sms(TEACHER, "hi", event_id="retried-event").status_code == 200
        work()
    for _ in range(3):  # and a form gateway with its own id
        assert form(app, {"from": "+8801711000002", "text": "hi", "id": "77"}).status_code == 200
        work()
    assert len(inbound(rt)) == 2
    assert len(smsgate.sent()) == 2  # রহিমা বেগম's welcome and the language question, once
    assert len(outbound(rt)) == 4


def test_without_an_id_the_same_sender_text_and_time_is_one_message(rt, roster, app, clock):
    for _ in range(3):  # no id, no date: a retry within the minute is the same message
        assert form(app, {"from": TEACHER, "text": "hi"}).status_code == 200
    clock.advance(minutes=1)
    assert form(app, {"from": TEACHER, "text": "hi"}).status_code == 200  # a new one
    for date in ("2026-11-24T10:05:01+06:00", "2026-11-24T10:05:01+06:00", "2026-11-24T10:05:09+06:00"):
        assert form(app, {"from": TEACHER, "text": "1", "date": date}).status_code == 200
    assert [m.body for m in inbound(rt)] == ["hi", "hi", "1", "1"]


def test_the_token_may_come_as_a_bearer_header(rt, roster, app):
    assert form(app, {"from": TEACHER, "text": "hi", "id": "9"}, bearer=True).status_code == 200
    (msg,) = inbound(rt)
    assert (msg.provider, msg.provider_sid) == ("local", "local:9")


def test_a_sender_in_national_form_is_the_same_teacher(rt, roster, phone, smsgate, work):
    assert phone.sms("01711000001", "hi").status_code == 200
    work()
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == TEACHER)).scalar_one()
        assert inbound(rt)[0].person_id == person.id
    assert smsgate.sent()[0]["text"].startswith("রহিমা বেগম,")


def test_events_it_does_not_act_on_are_left(rt, roster, phone, smsgate, clock):
    body, headers = smsgate.webhook("system:ping", {"health": {"status": "pass"}}, clock())
    assert phone.post("receive", body, headers).status_code == 200
    assert inbound(rt) == []


def test_an_unreadable_request_from_the_gateway_gets_400(rt, roster, phone, smsgate, clock, app):
    body, headers = smsgate.webhook("sms:received", {"message": "hi"}, clock())  # no phoneNumber
    assert phone.post("receive", body, headers).status_code == 400
    garbled = b"{not json"
    headers = smsgate.webhook("sms:received", {}, clock())[1]
    import hashlib
    import hmac
    headers["X-Signature"] = hmac.new(smsgate.SIGNING_KEY.encode(),
                                      garbled + headers["X-Timestamp"].encode(),
                                      hashlib.sha256).hexdigest()
    assert phone.post("receive", garbled, headers).status_code == 400
    assert form(app, {"text": "hi", "id": "3"}).status_code == 400  # no sender
    assert inbound(rt) == []


def test_delivery_reports_move_the_status(rt, roster, phone, smsgate, work):
    phone.sms(TEACHER, "hi")
    work()
    first, second = outbound(rt)
    first_id = first.provider_sid.removeprefix("phone:")
    second_id = second.provider_sid.removeprefix("phone:")
    assert phone.report("sms:sent", first_id, TEACHER).status_code == 200
    assert phone.report("sms:delivered", first_id, TEACHER).status_code == 200
    assert phone.report("sms:sent", first_id, TEACHER).status_code == 200  # late: never backwards
    assert phone.report("sms:failed", second_id, TEACHER, "RESULT_ERROR_NO_SERVICE").status_code == 200
    assert phone.report("sms:failed", "not-ours", TEACHER).status_code == 200
    first, second = outbound(rt)
    assert (first.status, second.status) == ("delivered", "failed")
    work()
    assert len(outbound(rt)) == 2  # a failed SMS is not re-sent: its reason is not a code


def test_a_message_is_recorded_before_the_webhook_answers_even_with_the_database_down(
        rt, roster, phone, smsgate, work):
    from bot.msgs import spool
    from bot.store.db import Database
    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        for _ in range(2):  # the phone retries: one file
            assert phone.sms(TEACHER, "hi", event_id="while-down").status_code == 200
        assert len(spool.files(spool.IN)) == 1
    finally:
        rt.db.dispose()
        rt.db = real
    assert spool.replay() == 1
    (msg,) = inbound(rt)
    assert (msg.provider, msg.provider_sid) == ("phone", "phone:while-down")
    work()
    assert len(smsgate.sent()) == 2
    with rt.db.session() as db:
        assert db.execute(select(func.count(Message.id))).scalar() == 3


def test_a_number_sent_as_a_json_number_is_read_as_text(rt, roster, phone, smsgate, clock):
    body, headers = smsgate.webhook("sms:received", {"message": 1, "phoneNumber": TEACHER},
                                    clock())
    assert phone.post("receive", body, headers).status_code == 200
    assert [m.body for m in inbound(rt)] == ["1"]


def test_healthz_names_the_gateways(app):
    assert app.test_client().get("/healthz").get_json()["gateways"] == ["bulksmsbd", "local", "phone"]
