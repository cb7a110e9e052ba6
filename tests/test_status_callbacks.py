"""Status callbacks are Twilio's retrying traffic too (D6): a malformed one gets 4xx, and one
that comes while the database or Redis is down is kept and applied later, never a 5xx."""
import pytest
from sqlalchemy import select

from bot.msgs import outbox, spool
from bot.store.db import Database
from bot.store.models import Message
from test_webhook import dead_redis

TEACHER = "+8801711000001"
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1"


def first_reply(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "out")
                          .order_by(Message.id)).scalars().first()


@pytest.fixture
def sent(rt, roster, tw, work):
    tw.sms(TEACHER, "hi")
    work()
    return first_reply(rt)


@pytest.mark.parametrize("field, value", [
    ("ErrorCode", "abc"),
    ("ErrorCode", "99999999999"),
    ("MessageStatus", "delivered" + "d" * 11),  # 20 characters
    ("MessageStatus", "deliv\x00ered"),
    ("MessageSid", "SM" + "a" * 63),
])
def test_a_malformed_status_callback_is_refused_with_4xx(rt, sent, tw, twilio, field, value):
    params = twilio.status_callback_params(sent.provider_sid, status="delivered", error_code=None)
    params[field] = value
    resp = tw.post("/twilio/messaging/status", params)
    assert 400 <= resp.status_code < 500
    assert first_reply(rt).status == "sent"  # nothing applied


def test_a_status_callback_while_the_database_is_down_is_kept_and_applied_later(
        rt, sent, tw, twilio):
    real, rt.db = rt.db, Database(DOWN)
    try:
        params = twilio.status_callback_params(sent.provider_sid, status="delivered",
                                               error_code=None)
        assert tw.post("/twilio/messaging/status", params).status_code == 204
    finally:
        rt.db.dispose()
        rt.db = real
    assert first_reply(rt).status == "sent"
    spool.replay()
    assert first_reply(rt).status == "delivered"


def test_a_status_callback_for_an_unknown_sid_while_redis_is_down_is_kept(
        rt, roster, tw, twilio, redis_conn):
    sid = "SM" + "9" * 32
    rt.redis = dead_redis()
    try:
        params = twilio.status_callback_params(sid, status="delivered", error_code=None,
                                               to=TEACHER, from_="+15005550006")
        assert tw.post("/twilio/messaging/status", params).status_code == 204
    finally:
        rt.redis = redis_conn
    spool.replay()
    assert redis_conn.lrange(outbox.early_key(sid), 0, -1)  # waits for its send, as usual


def test_twilios_own_long_status_is_kept_not_refused(rt, sent, tw, twilio):
    params = twilio.status_callback_params(sent.provider_sid, status="partially_delivered",
                                           error_code=None)
    assert tw.post("/twilio/messaging/status", params).status_code == 204
    assert first_reply(rt).status == "sent"  # not a step in the order of statuses we know
