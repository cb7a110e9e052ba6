"""A hostile look at the local SMS gateway channel (issue 14), each attack as a teacher or an
operator would notice it: malformed and oversized webhooks answered 4xx (never 500) and nothing
half-recorded, a sender in any Bangladeshi form is the same teacher, odd gateway ids are still
recorded once, a report that does not move a message's status forward never re-sends it, a
gateway that times out after taking a message sends it once, STOP is honoured from any point.

The phone is SMS Gateway for Android (channels/smsgate.yaml, signed webhooks); `local` is a form
gateway that reports delivery by the id we gave it ({id}) and lists a retryable code."""
import hashlib
import hmac
import json
from dataclasses import replace

import pytest
from conftest import GATEWAY_TOKEN, channels_file
from gateway_doubles import ExampleDouble
from sqlalchemy import select

from bot.msgs import spool
from bot.store.db import Database
from bot.store.models import DeliveryAttempt, Message, Person

TEACHER = "+8801711000001"  # রহিমা বেগম in the demo roster
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1"
PHONE_TIMEOUT = 1.0  # seconds the service waits for the phone's API in these tests


@pytest.fixture
def example():
    with ExampleDouble() as double:
        yield double


@pytest.fixture
def settings(settings, smsgate_env, example, tmp_path):
    phone = channels_file(tmp_path, "smsgate.yaml",
                          replace_text={"      format: json\n      basic_auth":
                                        f"      format: json\n      timeout: {PHONE_TIMEOUT}\n"
                                        "      basic_auth"})
    import yaml
    channels = yaml.safe_load(phone.read_text(encoding="utf-8"))["channels"]
    channels.append(yaml.safe_load(f"""
name: local
type: http
prefixes: []
send:
  url: {example.url}/send
  params: {{to: "{{to}}", text: "{{text}}", id: "{{id}}"}}
  headers: {{Authorization: "Bearer <token>"}}
receive: {{token: {GATEWAY_TOKEN}}}
status:
  fields: {{ref: id, status: status, error: code}}
  statuses: {{sent: sent, delivered: delivered, undelivered: undelivered, failed: failed}}
  retry: [17]
"""))
    path = tmp_path / "channels.yaml"
    path.write_text(yaml.safe_dump({"channels": channels}, allow_unicode=True), encoding="utf-8")
    return replace(settings, channels_file=path)


def inbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "in")
                          .order_by(Message.id)).scalars().all()


def outbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "out")
                          .order_by(Message.id)).scalars().all()


def local(app, data=None, kind="receive", **kw):
    return app.test_client().post(f"/sms/local/{kind}?token={GATEWAY_TOKEN}", data=data, **kw)


def signed(smsgate, raw: bytes, clock):
    """The phone's headers for a raw body (as it signs any body)."""
    stamp = str(int(clock().timestamp()))
    return {"Content-Type": "application/json", "X-Timestamp": stamp,
            "X-Signature": hmac.new(smsgate.SIGNING_KEY.encode(), raw + stamp.encode(),
                                    hashlib.sha256).hexdigest()}


def person(rt, phone):
    with rt.db.session() as db:
        return db.execute(select(Person).where(Person.phone == phone)).scalar_one()


# malformed and oversized webhooks -------------------------------------------------------

def test_a_lone_surrogate_in_the_json_is_recorded_not_a_500(rt, roster, phone, smsgate, clock):
    """JSON may escape half a UTF-16 pair ("\\ud83d" of a cut emoji); Python reads it as a
    lone surrogate, which no database and no UTF-8 file can hold."""
    for n, raw in enumerate([
            b'{"event": "sms:received", "id": "s1", "payload": {"message": "hi \\ud83d", '
            b'"phoneNumber": "+8801711000001"}}',
            b'{"event": "sms:received", "payload": {"message": "\\udc00 ok", '
            b'"phoneNumber": "+8801711000001"}}',  # no id: the hash of the text is taken
            b'{"event": "sms:received", "id": "s3", "payload": {"message": "x", '
            b'"phoneNumber": "+88017110\\ud80000001"}}']):
        response = phone.post("receive", raw, signed(smsgate, raw, clock))
        assert response.status_code in (200, 400), (n, response.status_code)
    bodies = [m.body for m in inbound(rt)]
    assert bodies[:2] == ["hi \ufffd", "\ufffd ok"]


def test_json_nested_without_end_is_400_not_500(rt, roster, phone, smsgate, clock):
    raw = b"[" * 100_000 + b"]" * 100_000
    assert phone.post("receive", raw, signed(smsgate, raw, clock)).status_code == 400
    raw = b'{"event": "sms:sent", "payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert phone.post("status", raw, signed(smsgate, raw, clock)).status_code == 400
    assert inbound(rt) == []


def test_a_huge_body_is_refused_unread(rt, roster, app):
    big = {"from": TEACHER, "text": "ক" * 300_000, "id": "big"}
    assert local(app, big).status_code == 413
    assert inbound(rt) == []


def test_wrong_content_type_or_invalid_utf8_is_400(rt, roster, app):
    assert local(app, data=b"\xff\xfe\x00", content_type="application/x-www-form-urlencoded"
                 ).status_code == 400
    assert local(app, data=json.dumps({"from": TEACHER, "text": "hi", "id": "j"}),
                 content_type="text/plain").status_code == 400
    assert local(app, data=b"{", content_type="application/json").status_code == 400
    assert inbound(rt) == []


@pytest.mark.parametrize("raw_id", ["abc+/=", "msg 42", "৪২", "a" * 80, "id#1?x"])
def test_a_gateway_id_of_any_characters_is_recorded_once(rt, roster, app, raw_id):
    """A gateway's id is its own business (base64, spaces, Bengali digits): the message is
    recorded, not refused, and the gateway's retry of it is still one message."""
    for _ in range(2):
        assert local(app, {"from": TEACHER, "text": "hi", "id": raw_id}).status_code == 200
    (msg,) = inbound(rt)
    assert msg.provider == "local" and msg.body == "hi"


@pytest.mark.parametrize("sender", ["01711000001", "8801711000001", "+880 1711-000001",
                                    "০১৭১১০০০০০১", "+৮৮০১৭১১০০০০০১"])
def test_a_sender_in_any_bangladeshi_form_is_the_same_teacher(rt, roster, app, sender, work,
                                                                example):
    assert local(app, {"from": sender, "text": "hi", "id": "f1"}).status_code == 200
    (msg,) = inbound(rt)
    assert (msg.address, msg.person_id) == (TEACHER, person(rt, TEACHER).id)
    work()
    assert example.sent()[0]["to"] == TEACHER  # answered from the channel she wrote in on


def test_an_empty_text_is_recorded_and_answered_politely(rt, roster, app, work, example):
    assert local(app, {"from": TEACHER, "text": "", "id": "e1"}).status_code == 200
    assert [m.body for m in inbound(rt)] == [""]
    work()
    assert example.sent()  # she is answered, nothing crashed


# delivery reports -----------------------------------------------------------------------

def _one_sent_by_local(rt, work, example):
    """One reply sent through `local`; its row."""
    from bot.msgs import outbox
    p = person(rt, TEACHER)
    with rt.db.session() as db:
        mid = outbox.queue_text(db, person=p, address=p.phone, channel="sms", key="test.text",
                                body="পাথর গুনি", now=rt.now()).id
        db.get(Message, mid).provider = "local"
    outbox.enqueue([mid])
    work()
    (msg,) = [m for m in outbound(rt) if m.id == mid]
    assert msg.status == "sent"
    return msg


@pytest.mark.parametrize("reports, sends", [
    (["delivered", "undelivered"], 1),            # a late failure after the delivery
    (["delivered", "sent", "undelivered"], 1),    # and out of order besides
    (["undelivered", "undelivered", "undelivered"], 2),  # the same failure repeated: one re-send
    (["undelivered", "sent", "undelivered"], 2),  # a stale "sent" in between changes nothing
])
def test_a_report_that_does_not_move_the_status_forward_never_resends(rt, roster, app, work,
                                                                        example, reports, sends):
    from test_outbound import run_jobs
    msg = _one_sent_by_local(rt, work, example)
    for status in reports:
        assert local(app, {"id": str(msg.id), "status": status, "code": "17"},
                     kind="status").status_code == 200
        run_jobs(rt)
    assert len(example.sent()) == sends, example.sent()


def test_a_delivery_that_arrives_after_a_failure_stops_the_pending_resend(rt, roster, app, work,
                                                                          example):
    """The gateway said "undelivered, try again" and then "delivered" (reports crossed): the
    re-send waiting for its backoff must not go, or she gets the message twice."""
    from bot.msgs import outbox
    msg = _one_sent_by_local(rt, work, example)
    assert local(app, {"id": str(msg.id), "status": "undelivered", "code": "17"},
                 kind="status").status_code == 200
    assert local(app, {"id": str(msg.id), "status": "delivered"}, kind="status").status_code == 200
    from test_outbound import run_jobs
    run_jobs(rt)
    assert len(example.sent()) == 1
    assert [m.status for m in outbound(rt)] == ["delivered", outbox.CANCELLED]


def test_a_report_by_our_id_that_beats_the_send_is_not_lost(rt, roster, app, example):
    """A fast gateway reports before the worker stored its answer: the row is still `sending`
    with no gateway id. A failure reported then must still lead to the re-send."""
    from bot.msgs import outbox
    p = person(rt, TEACHER)
    with rt.db.session() as db:
        m = outbox.queue_text(db, person=p, address=p.phone, channel="sms", key="test.text",
                              body="পাথর গুনি", now=rt.now())
        m.provider, m.status = "local", "sending"
        mid = m.id
    assert local(app, {"id": str(mid), "status": "undelivered", "code": "17"},
                 kind="status").status_code == 200
    with rt.db.session() as db:
        msg = db.get(Message, mid)
        msg.status, msg.provider_sid = "sent", f"local:ref-{mid}"
    # the worker's own record of Sent applies what came early
    with rt.db.session() as db:
        outbox._apply_early_status(rt, db, db.get(Message, mid), rt.now())
    with rt.db.session() as db:
        attempts = db.execute(select(DeliveryAttempt.outcome).where(
            DeliveryAttempt.message_id == mid)).scalars().all()
    assert "retry" in attempts, attempts


def test_a_report_by_our_id_while_the_database_is_down_is_kept(rt, roster, app, work, example):
    msg = _one_sent_by_local(rt, work, example)
    real = rt.db
    rt.db = Database(DOWN)
    try:
        assert local(app, {"id": str(msg.id), "status": "undelivered", "code": "17"},
                     kind="status").status_code in (200, 204)
    finally:
        rt.db.dispose()
        rt.db = real
    spool.replay()
    (first, *rest) = outbound(rt)
    assert first.status == "undelivered"
    assert len(rest) == 1  # its re-send


# the gateway's answers ------------------------------------------------------------------

def test_a_gateway_that_times_out_after_accepting_sends_once(rt, roster, phone, smsgate, work):
    """The phone's API takes the message and answers after the service gave up waiting: the
    re-try must not put a second SMS on her phone."""
    from test_outbound import run_jobs
    smsgate.delay_next(PHONE_TIMEOUT + 1.5)
    assert phone.sms(TEACHER, "hi").status_code == 200
    work()
    rt.clock.advance(minutes=10)
    from bot.msgs import outbox
    outbox.sweep()
    run_jobs(rt)
    texts = [m["text"][:10] for m in smsgate.sent()]
    assert len(texts) == len(set(texts)) == 2, texts
    assert all(m.status == "sent" for m in outbound(rt))


def test_a_2xx_answer_that_cannot_be_read_is_not_failed_for_good(rt, monkeypatch):
    """A proxy's HTML page with 200, in place of the aggregator's JSON: the gateway may or may
    not have the message; failing it for good loses a message the gateway never took."""
    from bot.channels.base import Failed
    from bot.channels.gateway import GatewayAdapter
    from bot.channels.gateway_config import parse
    gw = parse((CHANNELS_ADN).read_text(encoding="utf-8"),
               env={"ADNSMS_API_KEY": "k", "ADNSMS_API_SECRET": "s"})["adn"]
    result = GatewayAdapter(gw).read(200, "<html><body>Gateway Timeout</body></html>", "5")
    assert not isinstance(result, Failed), result


from conftest import CHANNELS  # noqa: E402

CHANNELS_ADN = CHANNELS / "adnsms.yaml"


# STOP -------------------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["STOP", "বন্ধ", "stop "])
def test_stop_on_the_gateway_stops_everything_queued(rt, roster, phone, smsgate, work, word):
    from bot.msgs import outbox
    assert phone.sms(TEACHER, "hi").status_code == 200
    work()
    before = len(smsgate.sent())
    p = person(rt, TEACHER)
    with rt.db.session() as db:  # a campaign's nudge queued, its job not yet run
        nudge = outbox.queue_text(db, person=p, address=p.phone, channel="sms",
                                  key="test.text", body="nudge", now=rt.now()).id
    assert phone.sms(TEACHER, word).status_code == 200
    work()
    outbox.enqueue([nudge])
    work()
    texts = [m["text"] for m in smsgate.sent()[before:]]
    assert "nudge" not in texts
    assert len(texts) == 1  # the STOP confirmation, on the phone
    assert person(rt, TEACHER).opted_out_at is not None


# privacy --------------------------------------------------------------------------------

def test_a_gateway_that_echoes_the_text_in_its_refusal_puts_no_body_in_the_log(caplog):
    """Some gateways quote the message back in an error ("Invalid message: ..."): the refusal is
    logged with its code for the operator, never with the teacher's text."""
    import logging

    from bot.channels.gateway import GatewayAdapter
    from bot.channels.gateway_config import parse
    caplog.set_level(logging.INFO)
    gw = parse(CHANNELS_ADN.read_text(encoding="utf-8"),
               env={"ADNSMS_API_KEY": "k", "ADNSMS_API_SECRET": "s"})["adn"]
    text = "রহিমা আপা, আজ পাথর গুনি"
    adapter = GatewayAdapter(gw)
    adapter.read(400, f"Bad request: message_body '{text}' rejected", "5", text)
    adapter.read(200, json.dumps({"api_response_code": 400, "error": {
        "error_code": 2002, "error_message": f"INVALID_MESSAGE_LENGTH: {text}"}}), "6", text)
    assert "2002" in caplog.text  # the operator still sees the code
    assert "পাথর" not in caplog.text and "রহিমা" not in caplog.text


def test_a_gateway_url_in_a_log_line_shows_no_key_or_token():
    """A GET gateway carries its key in the query string, and the phone's webhook its token: an
    exception that names the URL must not put them in the log."""
    from bot.logs import redact
    line = ("HTTPSConnectionPool(host='bulksmsbd.net'): Max retries exceeded with url: "
            "/api/smsapi?api_key=bulksmsbd-secret-key&type=unicode&senderid=88096 "
            "POST /sms/phone/receive?token=gateway-webhook-secret api_secret=adn-secret")
    out = redact(line)
    for secret in ("bulksmsbd-secret-key", "gateway-webhook-secret", "adn-secret"):
        assert secret not in out


@pytest.mark.skipif(not __import__("os").environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="needs PostgreSQL behind a TCP proxy")
def test_a_report_by_our_id_while_the_database_hangs_is_answered_in_seconds_and_kept(
        rt, roster, app, work, example, database_url):
    """The report by our id used to be looked up in the web request with no deadline: a hanging
    database held the gateway's request until the worker was killed, and the report was lost."""
    import threading
    import time

    from tcp_proxy import database_behind_proxy
    msg = _one_sent_by_local(rt, work, example)
    with database_behind_proxy(rt, database_url) as proxy:
        with rt.db.session() as db:  # a pooled connection, alive
            db.get(Message, msg.id)
        proxy.hang()
        answers = []
        started = time.monotonic()
        t = threading.Thread(target=lambda: answers.append(local(
            app, {"id": str(msg.id), "status": "delivered"}, kind="status")), daemon=True)
        t.start()
        t.join(10)
        took = time.monotonic() - started
        assert answers and answers[0].status_code == 200 and took < 5, took
        proxy.pass_()
    spool.replay()
    assert outbound(rt)[0].status == "delivered"


# fuzz: the gateways' webhooks, as the fuzz suite does Twilio's --------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_fuzz import TEXT, dead_letters, fuzz  # noqa: E402

HALF_PAIRS = st.text(alphabet=st.one_of(st.characters(categories=["Cs"], min_codepoint=0xD800,
                                                     max_codepoint=0xDFFF),
                                       st.sampled_from("aক১")), max_size=6)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(), TEXT,
              HALF_PAIRS),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
RECEIVED = st.fixed_dictionaries({  # near a real sms:received: reaches the recording
    "event": st.just("sms:received"),
    "payload": st.fixed_dictionaries({
        "phoneNumber": st.one_of(st.just(TEACHER), TEXT, HALF_PAIRS),
        "message": st.one_of(HALF_PAIRS, TEXT, JSON_VALUE)},
        optional={"receivedAt": st.one_of(TEXT, JSON_VALUE)})},
    optional={"id": st.one_of(HALF_PAIRS, TEXT, JSON_VALUE)})
ANY_EVENT = st.fixed_dictionaries({}, optional={
    "event": st.one_of(st.sampled_from(["sms:received", "sms:sent", "sms:delivered",
                                        "sms:failed"]), TEXT),
    "id": st.one_of(TEXT, JSON_VALUE),
    "payload": st.one_of(JSON_VALUE, st.fixed_dictionaries({}, optional={
        "message": JSON_VALUE, "phoneNumber": JSON_VALUE, "messageId": JSON_VALUE}))})
PHONE_EVENT = st.one_of(RECEIVED, ANY_EVENT)
LOCAL_FORM = st.fixed_dictionaries({}, optional={
    "from": TEXT, "text": TEXT, "id": TEXT, "date": TEXT, "status": TEXT, "code": TEXT})


@fuzz(300)
@given(event=PHONE_EVENT, kind=st.sampled_from(["receive", "status"]))
def test_the_phones_signed_webhooks_never_5xx(rt, roster, phone, smsgate, clock, event, kind):
    raw = json.dumps(event).encode()  # half UTF-16 pairs travel as \udxxx escapes
    response = phone.post(kind, raw, signed(smsgate, raw, clock))
    assert response.status_code < 500, response.status_code
    assert dead_letters() == []


@fuzz(300)
@given(form=LOCAL_FORM, kind=st.sampled_from(["receive", "status"]), as_json=st.booleans())
def test_a_form_gateways_webhooks_never_5xx(rt, roster, app, form, kind, as_json):
    if as_json:
        response = local(app, data=json.dumps(form), kind=kind, content_type="application/json")
    else:
        response = local(app, form, kind=kind)
    assert response.status_code < 500, response.status_code
    assert dead_letters() == []
