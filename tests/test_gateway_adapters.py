"""Each shipped gateway configuration against a double of its API, answering as the API is
documented to answer: a message is sent (Bangla as Unicode) with the gateway's id; a wrong key
and a bad number fail with the gateway's code and reason; throttling and a gateway that cannot
be reached are retried later; one that answers too late is an unknown outcome, looked up (where
the API can be asked) before it is sent again. Which answer is documented and which is not is
written in each channels/*.yaml."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from conftest import CHANNELS
from gateway_doubles import AdnDouble, BulkSmsBdDouble, ExampleDouble, SmsGateDouble

from bot.channels.base import Failed, Outgoing, RetryLater, Sent, Unknown
from bot.channels.gateway import GatewayAdapter
from bot.channels.gateway_config import load

BANGLA = "পাথর গুনি: আজ ৫ মিনিট জোড়ায় জোড়ায় গুনতে দিন।"
ENGLISH = "Counting stones: 5 minutes in pairs today."
TEACHER = "+8801711000001"


def env_for(name, double, **wrong):
    return {
        "adnsms": {"ADNSMS_URL": double.url, "ADNSMS_API_KEY": AdnDouble.API_KEY,
                   "ADNSMS_API_SECRET": AdnDouble.API_SECRET},
        "bulksmsbd": {"BULKSMSBD_URL": double.url, "BULKSMSBD_API_KEY": BulkSmsBdDouble.API_KEY,
                      "BULKSMSBD_SENDER_ID": BulkSmsBdDouble.SENDER_ID},
        "smsgate": {"SMSGATE_URL": double.url + SmsGateDouble.BASE,
                    "SMSGATE_USERNAME": SmsGateDouble.USER, "SMSGATE_PASSWORD": SmsGateDouble.PASSWORD,
                    "SMSGATE_WEBHOOK_TOKEN": "t", "SMSGATE_SIGNING_KEY": "k"},
    }[name] | wrong


KEY = {"adnsms": "ADNSMS_API_KEY", "bulksmsbd": "BULKSMSBD_API_KEY", "smsgate": "SMSGATE_PASSWORD"}
DOUBLES = {"adnsms": AdnDouble, "bulksmsbd": BulkSmsBdDouble, "smsgate": SmsGateDouble}
# what each API calls the recipient, and its word for a Bangla and an English text
RECIPIENT = {"adnsms": "01711000001", "bulksmsbd": "8801711000001", "smsgate": TEACHER}
ENCODING = {"adnsms": ("UNICODE", "TEXT"), "bulksmsbd": ("unicode", "text"), "smsgate": (None, None)}
# documented (or, where the yaml says not, the nearest documented) codes
AUTH_FAILURE = {"adnsms": 3001, "bulksmsbd": 1011, "smsgate": 401}
BAD_NUMBER = {"adnsms": 2001, "bulksmsbd": 1001, "smsgate": 400}
THROTTLED = {"adnsms": ("unknown", 5001), "bulksmsbd": ("internal", 1005),
             "smsgate": ("queue_full", 503)}
APIS = sorted(DOUBLES)


@pytest.fixture(params=APIS)
def api(request):
    with DOUBLES[request.param]() as double:
        yield request.param, double


def adapter(name, double, **env) -> GatewayAdapter:
    (gateway,) = load(CHANNELS / f"{name}.yaml", env=env_for(name, double, **env)).values()
    return GatewayAdapter(gateway)


def sms(text, to=TEACHER, ref="41"):
    return Outgoing(to=to, channel="sms", body=text, ref=ref)


def test_a_bangla_message_is_sent_as_unicode_with_the_gateways_id(api):
    name, double = api
    gw = adapter(name, double)
    result = gw.send(sms(BANGLA))
    assert isinstance(result, Sent)
    (sent,) = double.sent()
    assert result.sid == f"{gw.name}:{sent['id']}"
    assert sent["text"] == BANGLA and sent["to"] == RECIPIENT[name]
    assert sent["encoding"] == ENCODING[name][0]
    assert isinstance(gw.send(sms(ENGLISH, ref="42")), Sent)
    assert double.sent()[1]["encoding"] == ENCODING[name][1]


def test_a_wrong_key_fails_with_the_gateways_code_and_is_not_retried(api):
    name, double = api
    result = adapter(name, double, **{KEY[name]: "wrong"}).send(sms(BANGLA))
    assert isinstance(result, Failed) and result.permanent
    assert result.code == AUTH_FAILURE[name]
    assert double.sent() == []


def test_a_bad_number_fails_with_the_gateways_code(api):
    name, double = api
    result = adapter(name, double).send(sms(BANGLA, to="+8801234"))
    assert isinstance(result, Failed) and result.permanent and result.code == BAD_NUMBER[name]
    assert result.reason  # the gateway's own words, for the log and `sathi channels check`
    assert double.sent() == []


def test_throttling_is_retried_later(api):
    name, double = api
    kind, code = THROTTLED[name]
    double.fail_next(kind)
    gw = adapter(name, double)
    result = gw.send(sms(BANGLA))
    assert isinstance(result, RetryLater) and result.code == code and result.after > 0
    assert isinstance(gw.send(sms(BANGLA)), Sent)  # and the next try goes through


def test_a_gateway_that_cannot_be_reached_is_retried(api):
    name, double = api
    gw = adapter(name, double)
    double.stop()
    assert isinstance(gw.send(sms(BANGLA)), RetryLater)


def test_a_gateway_that_answers_too_late_is_looked_up_before_it_is_sent_again(api):
    name, double = api
    gw = adapter(name, double)
    gw.gateway = replace(gw.gateway, send=replace(gw.gateway.send, timeout=0.3))
    double.delay_next(1.0)  # it accepts the message, but answers after our timeout
    assert isinstance(gw.send(sms(BANGLA)), Unknown)  # it may have it: never re-sent blind
    assert len(double.sent()) == 1
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    if name == "smsgate":  # the phone's server answers GET /messages/{our id}
        assert gw.lookup(sms(BANGLA), since) == [f"phone:{double.sent()[0]['id']}"]
        assert gw.lookup(sms(BANGLA, ref="43"), since) == []  # never sent: 404
        assert gw.lookup(sms(BANGLA, to="+8801711000002"), since) == []  # not ours
        # sent again all the same (the lookup said 404 before the first try landed): 409
        assert gw.send(sms(BANGLA)) == Sent(sid=f"phone:{double.sent()[0]['id']}")
        assert len(double.sent()) == 1
        double.stop()
        assert isinstance(gw.lookup(sms(BANGLA), since), RetryLater)  # cannot say now
    else:  # no lookup documented: it is sent again, and may arrive twice (README)
        assert gw.lookup(sms(BANGLA), since) == []


@pytest.mark.parametrize("status", [200, 400])
def test_adn_failures_read_alike_whatever_http_status_carries_them(status):
    # ADN documents the error body, not the HTTP status that carries it
    with AdnDouble(error_status=status) as double:
        gw = adapter("adnsms", double)
        assert gw.send(sms(BANGLA, to="+8801234")).code == 2001
        double.fail_next("unknown")
        assert isinstance(gw.send(sms(BANGLA)), RetryLater)
        assert isinstance(gw.send(sms(BANGLA)), Sent)


def test_the_issues_example_sends_its_form_with_the_bearer_token():
    with ExampleDouble() as double:
        text = (CHANNELS / "example.yaml").read_text(encoding="utf-8")
        text = text.replace("https://gateway.example", double.url)  # the only change
        from bot.channels.gateway_config import parse
        (gateway,) = parse(text, "example.yaml", env={}).values()
        gw = GatewayAdapter(gateway)
        result = gw.send(sms(BANGLA, ref="41"))
        assert isinstance(result, Sent) and result.sid == "local:ref-41"  # no id in its answer
        assert double.sent() == [{"to": TEACHER, "text": BANGLA, "encoding": None, "id": "41"}]
        double.fail_next("busy")
        assert isinstance(gw.send(sms(BANGLA)), RetryLater)  # 503: the default retry statuses
        double.fail_next("bad_number")
        assert gw.send(sms(BANGLA)).code == 400


def test_a_gateway_sends_sms_only():
    with SmsGateDouble() as double:
        result = adapter("smsgate", double).send(Outgoing(to=TEACHER, channel="whatsapp", body="hi"))
        assert isinstance(result, Failed) and double.requests == []


def test_a_get_gateway_gets_its_params_in_the_query_string():
    # BulkSMSBD documents GET and POST alike
    with BulkSmsBdDouble() as double:
        from bot.channels.gateway_config import parse
        text = (CHANNELS / "bulksmsbd.yaml").read_text(encoding="utf-8").replace(
            "method: POST", "method: GET")
        (gateway,) = parse(text, "bulksmsbd.yaml", env=env_for("bulksmsbd", double)).values()
        result = GatewayAdapter(gateway).send(sms(BANGLA))
        assert isinstance(result, Sent)
        (request,) = double.requests
        assert request.method == "GET" and request.form["message"] == BANGLA
        assert request.form["type"] == "unicode" and request.form["number"] == "8801711000001"
