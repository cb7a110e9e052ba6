"""Fuzz: thousands of random and malformed requests against every webhook, signed as Twilio
signs and unsigned. None may get a 5xx, nothing unsigned may be recorded, a signed message is
recorded exactly once however often it is replayed, and nothing that passed the intake checks
may fail to be recorded (the dead-letter folder stays empty while the database is up).

Deterministic (hypothesis's derandomize): CI runs the same examples every time;
SATHI_FUZZ_RANDOM=1 explores new ones.
"""
import os
import string

import pytest

from conftest import AUTH_TOKEN, PUBLIC_BASE_URL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from bot.channels.signature import sign
from bot.msgs import intake, spool
from bot.store.db import Database
from bot.store.models import DeliveryAttempt, Message

FUZZ = settings(
    derandomize=not os.environ.get("SATHI_FUZZ_RANDOM"), database=None, deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example])
MESSAGING, STATUS = "/twilio/messaging", "/twilio/messaging/status"


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)

# values a field may take: anything, control characters and NULs, huge, numbers in odd
# shapes, phone-like and WhatsApp-like strings, Bangla
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet="\x00\x01\x1f\x7f\u200b\ufeff\n\r\t ab১২", max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from("xক\x00"), st.integers(1_500, 70_000)),
    st.from_regex(r"\+?(880|0)?1[3-9]\d{8}", fullmatch=True),
    st.from_regex(r"whatsapp:\+?\d{0,20}", fullmatch=True),
    st.integers(-10**20, 10**20).map(str),
    st.sampled_from(["", " ", "abc", "NaN", "1e9", "99999999999", "-1", "০১৭১১০০০০০১",
                     "delivered", "DELIVERED", "read", "partially_delivered", "undelivered"]),
)
SID = st.one_of(st.from_regex(r"(SM|MM)[0-9a-f]{32}", fullmatch=True), TEXT)
FORM = st.fixed_dictionaries({}, optional={
    "MessageSid": SID, "From": TEXT, "To": TEXT, "Body": TEXT, "AccountSid": TEXT,
    "NumMedia": TEXT, "MediaUrl0": TEXT, "MediaContentType0": TEXT, "MessageStatus": TEXT,
    "ErrorCode": TEXT, "ProfileName": TEXT,
}).flatmap(lambda d: st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=12),
                                     TEXT, max_size=3).map(lambda extra: {**extra, **d}))
RAW = st.one_of(
    st.binary(max_size=400),
    st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=60)), max_size=8)
    .map(lambda pairs: b"&".join(k + b"=" + v for k, v in pairs)),
    st.sampled_from([b"Body=%ZZ&From=%", b"MessageSid=SM1&From=%2B8801711000001&Body=%C3%28",
                     b"MessageSid=SM2&From=%2B8801711000001&Body=\xff\xfe", b"=&=&&",
                     b"MessageSid=" + b"A" * 100_000]),
)


def count(rt, **where):
    with rt.db.session() as db:
        q = select(func.count(Message.id))
        for k, v in where.items():
            q = q.where(getattr(Message, k) == v)
        return db.execute(q).scalar()


def dead_letters():
    return list((spool.directory() / spool.DEAD).glob("*.json"))


def expected_sid(form):
    try:
        return intake.provider_sid(form.get("MessageSid"))
    except intake.Rejected:
        return None


@fuzz(1000)
@given(form=FORM)
def test_signed_messages_never_5xx_and_are_recorded_once(rt, roster, tw, form):
    form = {"MessageSid": "SM" + "0" * 32, **form}
    first = tw.post(MESSAGING, form)
    assert first.status_code in (200, 400, 413), first.status_code
    again = tw.post(MESSAGING, form)  # Twilio's retry of the same request
    assert again.status_code == first.status_code
    sid = expected_sid(form)
    if first.status_code == 200:
        assert count(rt, direction="in", provider_sid=sid) == 1
    assert dead_letters() == []


@fuzz(500)
@given(form=FORM, signature=st.one_of(
    st.none(), st.just(""), st.sampled_from(["forged", "bm90IGEgc2lnbmF0dXJl"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)))  # what HTTP
# can carry in a header
def test_unsigned_or_forged_requests_record_nothing(rt, roster, tw, form, signature):
    before = count(rt)
    for path in (MESSAGING, STATUS):
        resp = tw.post(path, form, signature=signature)
        assert resp.status_code in (403, 413), resp.status_code
    assert count(rt) == before


@pytest.fixture
def replied(rt, roster, tw, work):
    """A conversation happened: the sids of the replies we sent."""
    tw.sms("+8801711000001", "hi")
    work()
    with rt.db.session() as db:
        return db.execute(select(Message.provider_sid).where(
            Message.direction == "out")).scalars().all()


@fuzz(800)
@given(form=FORM, known=st.booleans())
def test_signed_status_callbacks_never_5xx(rt, replied, tw, form, known):
    if known:  # about a message we sent, as most are
        form = {**form, "MessageSid": replied[0]}

    def reports():
        with rt.db.session() as db:
            return db.execute(select(func.count(DeliveryAttempt.id)).where(
                DeliveryAttempt.outcome == "status")).scalar()

    before = reports()
    resp = tw.post(STATUS, form)
    assert resp.status_code in (204, 400, 413), resp.status_code
    if resp.status_code == 400:  # nothing of a refused callback is applied
        assert reports() == before
    assert dead_letters() == []


@fuzz(600)
@given(raw=RAW, path=st.sampled_from([MESSAGING, STATUS]),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "application/x-www-form-urlencoded; charset=latin-1",
                                     "multipart/form-data; boundary=x", "text/plain", ""]))
def test_raw_bodies_in_bad_encodings_never_5xx(rt, roster, app, raw, path, content_type):
    """Bytes that are not UTF-8, broken escapes, odd content types: signed over whatever the
    server will parse out of them (as Twilio would have signed the fields it sent)."""
    builder = EnvironBuilder(path=path, method="POST", data=raw, content_type=content_type)
    form = builder.get_request().form
    signature = sign(AUTH_TOKEN, PUBLIC_BASE_URL + path, form)
    before = count(rt)
    resp = app.test_client().post(path, data=raw, content_type=content_type,
                                  headers={"X-Twilio-Signature": signature})
    assert resp.status_code < 500, resp.status_code
    unsigned = app.test_client().post(path, data=raw, content_type=content_type)
    assert unsigned.status_code in (403, 413)
    assert count(rt) - before <= 1
    assert dead_letters() == []


@fuzz(100)
@given(forms=st.lists(FORM, min_size=1, max_size=4))
def test_what_was_spooled_is_replayed_once(rt, roster, tw, forms):
    """The database is down: whatever passes the checks is spooled (answered 200) and, once
    it is back, recorded exactly once, however often Twilio retried it meanwhile."""
    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    accepted = set()
    try:
        for n, form in enumerate(forms):
            form = {"MessageSid": f"SM{n:02d}" + "e" * 30, **form}
            resp = tw.post(MESSAGING, form)
            assert resp.status_code in (200, 400, 413)
            if resp.status_code == 200:
                accepted.add(expected_sid(form))
                tw.post(MESSAGING, form)  # a retry while still down
    finally:
        rt.db.dispose()
        rt.db = real
    spool.replay()
    assert spool.size() == {"pending": 0, "dead": 0}
    for sid in accepted:
        assert count(rt, direction="in", provider_sid=sid) == 1
    spool.replay()  # a second replay finds nothing more to do
    for sid in accepted:
        assert count(rt, direction="in", provider_sid=sid) == 1
