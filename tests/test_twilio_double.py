import re
from email.utils import parsedate_to_datetime

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio_double import TwilioDouble

SID = "AC" + "0" * 32
TOKEN = "test-token"
TO, FROM = "+8801711000001", "+15005550006"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture(scope="module")
def server():
    with TwilioDouble(account_sid=SID, auth_token=TOKEN) as tw:
        yield tw


@pytest.fixture
def tw(server):
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def client(tw):
    c = tw.client()
    yield c
    c.http_client.session.close()


def post(tw, path=MESSAGES, auth=(SID, TOKEN), **form):
    return requests.post(tw.url + path, data=form, auth=auth, timeout=5)


def test_plain_client_with_base_url_reaches_the_double(tw):
    c = Client(SID, TOKEN, environment={})
    c.api.base_url = tw.url
    try:
        msg = c.messages.create(to=TO, from_=FROM, body="hello")
    finally:
        c.http_client.session.close()
    assert re.fullmatch(r"SM[0-9a-f]{32}", msg.sid)
    (rec,) = tw.requests
    assert (rec.method, rec.path, rec.auth_ok, rec.response_status) == ("POST", MESSAGES, True, 201)
    assert rec.form == {"To": TO, "From": FROM, "Body": "hello"}


def test_message_create_fields_and_resource(tw, client):
    msg = client.messages.create(
        to=TO, from_=FROM, body="hi", status_callback="https://app.test/status"
    )
    assert msg.status == "queued" and msg.direction == "outbound-api"
    assert msg.num_segments == "1" and msg.price is None and msg.error_code is None
    assert msg.date_created.tzinfo is not None
    assert tw.messages() == [
        {"To": TO, "From": FROM, "Body": "hi", "StatusCallback": "https://app.test/status"}
    ]


def test_raw_message_json_shape(tw):
    r = post(tw, To=TO, From=FROM, Body="hello")
    assert r.status_code == 201
    assert r.headers["Content-Type"].startswith("application/json")
    j = r.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", j["sid"])
    assert j["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{j['sid']}.json"
    assert j["subresource_uris"]["media"] == j["uri"][: -len(".json")] + "/Media.json"
    assert parsedate_to_datetime(j["date_created"]).utcoffset().total_seconds() == 0
    assert j["date_created"].endswith("+0000")
    expected = {
        "account_sid": SID, "api_version": "2010-04-01", "body": "hello", "to": TO,
        "from": FROM, "status": "queued", "direction": "outbound-api", "num_segments": "1",
        "num_media": "0", "price": None, "price_unit": "USD", "error_code": None,
        "error_message": None, "date_sent": None, "messaging_service_sid": None,
    }
    assert {k: j[k] for k in expected} == expected


def test_content_template_and_messaging_service(tw, client):
    msg = client.messages.create(
        to="whatsapp:" + TO,
        messaging_service_sid="MG" + "1" * 32,
        content_sid="HX" + "2" * 32,
        content_variables='{"1": "Rahima"}',
    )
    assert msg.status == "accepted" and msg.from_ is None  # service picks the sender
    form = tw.messages()[0]
    assert form["ContentSid"] == "HX" + "2" * 32
    assert form["ContentVariables"] == '{"1": "Rahima"}'
    assert form["MessagingServiceSid"] == "MG" + "1" * 32


def test_num_segments_counts_bangla(tw):
    assert post(tw, To=TO, From=FROM, Body="\u0995" * 71).json()["num_segments"] == "2"
    wa = post(tw, To="whatsapp:" + TO, From="whatsapp:" + FROM, Body="\u0995" * 71)
    assert wa.json()["num_segments"] == "1"


def test_repeated_media_url_is_a_list(tw):
    r = post(tw, To=TO, From=FROM, MediaUrl=["https://a.test/1.png", "https://a.test/2.png"])
    assert r.json()["num_media"] == "2"
    assert tw.messages()[0]["MediaUrl"] == ["https://a.test/1.png", "https://a.test/2.png"]


def test_call_create(tw, client):
    call = client.calls.create(
        to=TO, from_=FROM, url="https://app.test/ivr", status_callback="https://app.test/cs"
    )
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid) and call.status == "queued"
    assert tw.calls() == [
        {"To": TO, "From": FROM, "Url": "https://app.test/ivr", "StatusCallback": "https://app.test/cs"}
    ]
    assert tw.messages() == []


def test_wrong_auth_is_401_20003(tw):
    bad = Client(SID, "wrong", environment={})
    bad.api.base_url = tw.url
    try:
        with pytest.raises(TwilioRestException) as e:
            bad.messages.create(to=TO, from_=FROM, body="x")
    finally:
        bad.http_client.session.close()
    assert (e.value.status, e.value.code) == (401, 20003)
    r = post(tw, auth=None, To=TO, From=FROM, Body="x")
    assert r.status_code == 401
    assert r.json() == {
        "code": 20003, "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401,
    }
    assert [rec.auth_ok for rec in tw.requests] == [False, False]
    assert tw.messages() == []


def test_scripted_429_raises_and_then_recovers(tw, client):
    tw.fail_next(status=429, code=20429, message="Too Many Requests")
    with pytest.raises(TwilioRestException) as e:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (e.value.status, e.value.code) == (429, 20429)
    assert "Too Many Requests" in e.value.msg
    assert client.messages.create(to=TO, from_=FROM, body="x").sid
    assert [r.response_status for r in tw.requests] == [429, 201]
    assert len(tw.messages()) == 1


def test_21610_error_body(tw, client):
    tw.fail_unsubscribed()
    r = post(tw, To=TO, From=FROM, Body="x")
    assert r.status_code == 400
    assert r.json() == {
        "code": 21610, "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400,
    }
    tw.fail_unsubscribed()
    with pytest.raises(TwilioRestException) as e:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (e.value.status, e.value.code) == (400, 21610)


@pytest.mark.parametrize(
    "preset, status, code",
    [
        ("fail_rate_limited", 429, 20429),
        ("fail_unsubscribed", 400, 21610),
        ("fail_invalid_to", 400, 21211),
        ("fail_outside_window", 400, 63016),
        ("fail_server_error", 500, 20500),
        ("fail_unavailable", 503, 20503),
    ],
)
def test_presets(tw, client, preset, status, code):
    getattr(tw, preset)()
    with pytest.raises(TwilioRestException) as e:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (e.value.status, e.value.code) == (status, code)
    assert e.value.uri.endswith("/Messages.json")


def test_invalid_to_message_names_the_number(tw):
    tw.fail_invalid_to()
    assert post(tw, To="+123", From=FROM, Body="x").json()["message"] == (
        "The 'To' number +123 is not a valid phone number."
    )


def test_failures_are_fifo_and_times(tw):
    tw.fail_next(times=2)
    tw.fail_next(status=500, code=20500, message="An internal server error has occurred")
    codes = [post(tw, To=TO, From=FROM, Body="x").status_code for _ in range(4)]
    assert codes == [429, 429, 500, 201]


def test_failure_filtered_by_recipient(tw):
    other = "+8801711000002"
    tw.fail_unsubscribed(to=other)
    assert post(tw, To=TO, From=FROM, Body="x").status_code == 201
    assert post(tw, To=other, From=FROM, Body="x").status_code == 400
    assert post(tw, To=other, From=FROM, Body="x").status_code == 201
    assert [m["To"] for m in tw.messages()] == [TO, other]


def test_failure_filtered_by_resource(tw, client):
    tw.fail_next(503, 20503, "Service Unavailable", resource="Calls")
    assert client.messages.create(to=TO, from_=FROM, body="x").sid
    with pytest.raises(TwilioRestException) as e:
        client.calls.create(to=TO, from_=FROM, url="https://app.test/ivr")
    assert e.value.status == 503


def test_wrong_auth_does_not_consume_failure(tw):
    tw.fail_rate_limited()
    assert post(tw, auth=(SID, "nope"), To=TO, From=FROM, Body="x").status_code == 401
    assert post(tw, To=TO, From=FROM, Body="x").status_code == 429


@pytest.mark.parametrize(
    "form, code",
    [
        ({"From": FROM, "Body": "x"}, 21604),
        ({"To": TO, "Body": "x"}, 21603),
        ({"To": TO, "From": FROM}, 21602),
        ({"To": TO, "From": FROM, "Body": ""}, 21602),
    ],
)
def test_validation_errors(tw, form, code):
    r = post(tw, **form)
    assert (r.status_code, r.json()["code"]) == (400, code)
    assert tw.messages() == []


def test_unknown_path_and_other_account_are_404(tw):
    assert post(tw, path="/2010-04-01/Accounts/" + SID + "/Faxes.json").json()["code"] == 20404
    other = "/2010-04-01/Accounts/AC" + "f" * 32 + "/Messages.json"
    assert post(tw, path=other, To=TO, From=FROM, Body="x").status_code == 404


def test_status_callback_params(tw, client):
    msg = client.messages.create(to=TO, from_=FROM, body="x")
    params = tw.status_callback_params(msg.sid)
    assert params == {
        "AccountSid": SID, "ApiVersion": "2010-04-01", "From": FROM, "To": TO,
        "MessageSid": msg.sid, "MessageStatus": "undelivered",
        "SmsSid": msg.sid, "SmsStatus": "undelivered", "ErrorCode": "30003",
    }
    assert tw.status_callback_params(msg.sid, error_code=30006)["ErrorCode"] == "30006"
    delivered = tw.status_callback_params(msg.sid, status="delivered", error_code=None)
    assert "ErrorCode" not in delivered and delivered["MessageStatus"] == "delivered"


def test_signature_validates_with_twilio(tw):
    url = "https://app.test/twilio/status"
    params = tw.status_callback_params("SM" + "a" * 32, to=TO, from_=FROM)
    assert RequestValidator(TOKEN).validate(url, params, tw.signature(url, params))


def test_clear(tw):
    tw.fail_rate_limited()
    post(tw, To=TO, From=FROM, Body="x")
    tw.clear()
    assert tw.requests == [] and tw.messages() == []
    assert post(tw, To=TO, From=FROM, Body="x").status_code == 201


def test_start_stop_without_context_manager():
    tw = TwilioDouble(account_sid=SID, auth_token=TOKEN).start()
    url = tw.url
    assert requests.post(url + MESSAGES, auth=(SID, TOKEN), timeout=5).status_code == 400
    tw.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(url + MESSAGES, timeout=5)


def test_region_or_edge_rewrites_the_host(tw):
    """Surprise in twilio 9.x: region/edge (also from TWILIO_REGION/TWILIO_EDGE
    env vars) are spliced into the host of every URL, base_url included."""
    c = Client(SID, TOKEN, environment={"TWILIO_REGION": "ie1"})
    host = tw.url.split("//")[1]
    assert host not in c.get_hostname(tw.url + MESSAGES)
    with pytest.raises(ValueError):
        tw.configure(c)
    c.http_client.session.close()


def test_closed_whatsapp_session_refuses_free_text_but_not_a_template(tw, client):
    tw.close_whatsapp_session("whatsapp:+8801711000002")
    with pytest.raises(TwilioRestException) as e:
        client.messages.create(to="whatsapp:+8801711000002", from_="whatsapp:+14155238886",
                               body="hello")
    assert (e.value.status, e.value.code) == (400, 63016)
    client.messages.create(to="whatsapp:+8801711000002", from_="whatsapp:+14155238886",
                           content_sid="HX" + "3" * 32, content_variables='{"1": "hello"}')
    client.messages.create(to="whatsapp:+8801711000003", from_="whatsapp:+14155238886",
                           body="another person's session is open")
    assert [m.get("ContentSid") for m in tw.messages()] == ["HX" + "3" * 32, None]


def test_a_call_is_fetched_moved_on_and_updated_until_it_ends(tw, client):
    from twilio.base.exceptions import TwilioRestException

    call = client.calls.create(to=TO, from_=FROM, url="https://app.test/ivr",
                               machine_detection="DetectMessageEnd", async_amd="true",
                               async_amd_status_callback="https://app.test/amd")
    assert client.calls(call.sid).fetch().status == "queued"
    params = tw.call_status_params(call.sid, "in-progress")
    assert (params["CallStatus"], params["To"], params["From"]) == ("in-progress", TO, FROM)
    client.calls(call.sid).update(twiml="<Response><Hangup/></Response>")
    assert tw.call_updates(call.sid) == [{"Twiml": "<Response><Hangup/></Response>"}]
    amd = tw.amd_params(call.sid, "machine_end_beep")
    assert amd["AnsweredBy"] == client.calls(call.sid).fetch().answered_by == "machine_end_beep"
    done = tw.call_status_params(call.sid, "completed", duration=61)
    assert (done["CallDuration"], done["Duration"]) == ("61", "2")
    fetched = client.calls(call.sid).fetch()
    assert (fetched.status, str(fetched.duration)) == ("completed", "61")
    with pytest.raises(TwilioRestException) as e:  # an ended call cannot be redirected
        client.calls(call.sid).update(twiml="<Response/>")
    assert (e.value.status, e.value.code) == (400, 21220)
    with pytest.raises(TwilioRestException) as e:
        client.calls("CA" + "0" * 32).fetch()
    assert (e.value.status, e.value.code) == (404, 20404)


def test_call_creates_answer_with_the_calls_api_errors(tw, client):
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as e:
        client.calls.create(to=TO, from_=FROM)  # no Url, no Twiml
    assert e.value.code == 21205
    tw.fail_next(400, 21217, "Phone number does not appear to be valid", resource="Calls")
    with pytest.raises(TwilioRestException) as e:
        client.calls.create(to=TO, from_=FROM, url="https://app.test/ivr")
    assert (e.value.status, e.value.code) == (400, 21217)
    assert tw.calls() == [] and tw.placed_calls() == []
