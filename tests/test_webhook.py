"""The messaging webhooks, end to end: signed request -> record -> worker -> Twilio double."""
import os
import time
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.msgs import inbound
from bot.store.models import FlowRun, Message

TEACHER = "+8801711000001"  # রহিমা বেগম, Bangla, SMS
STRANGER = "+8801999000999"


def count(rt, **where):
    with rt.db.session() as db:
        q = select(func.count(Message.id))
        for k, v in where.items():
            q = q.where(getattr(Message, k) == v)
        return db.execute(q).scalar()


def test_rostered_teacher_gets_bangla_welcome_through_twilio(rt, roster, tw, work, twilio):
    resp = tw.sms(TEACHER, "hi")
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    work()
    sent = twilio.messages()
    assert [m["To"] for m in sent] == [TEACHER, TEACHER]
    assert all(m["From"] == "+15005550006" for m in sent)
    assert "রহিমা বেগম" in sent[0]["Body"]
    assert "স্বাগতম" in sent[0]["Body"]
    assert "১" in sent[1]["Body"] and "২" in sent[1]["Body"]  # Bengali digits in the menu
    assert sent[0]["StatusCallback"] == "https://sathi.example.org/twilio/messaging/status"
    with rt.db.session() as db:
        out = db.execute(select(Message).where(Message.direction == "out")).scalars().all()
        assert {m.status for m in out} == {"sent"}
        assert all(m.provider_sid.startswith("SM") for m in out)


def test_message_is_recorded_before_the_webhook_answers(rt, roster, tw, twilio):
    resp = tw.sms(TEACHER, "হ্যালো")
    assert resp.status_code == 200
    # no worker has run: the message is on record and queued, nothing is sent yet
    with rt.db.session() as db:
        msg = db.execute(select(Message)).scalar_one()
        assert (msg.direction, msg.status, msg.body, msg.address) == ("in", "received", "হ্যালো", TEACHER)
    assert rt.queue("inbound").count == 1
    assert twilio.messages() == []


def test_forged_signature_is_refused_and_nothing_recorded(rt, roster, tw, twilio, work):
    form = {"MessageSid": "SM" + "f" * 32, "From": TEACHER, "To": "+15005550006", "Body": "hi"}
    assert tw.post("/twilio/messaging", form, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert tw.post("/twilio/messaging", form, signature=None).status_code == 403
    # signed for another URL (a proxy that rewrote the host) is refused too
    from conftest import AUTH_TOKEN

    from bot.channels.signature import sign
    wrong = sign(AUTH_TOKEN, "http://localhost/twilio/messaging", form)
    assert tw.post("/twilio/messaging", form, signature=wrong).status_code == 403
    work()
    assert count(rt) == 0
    assert twilio.messages() == []


def test_a_query_string_that_is_no_utf8_is_refused_as_unsigned_not_a_500(rt, roster, tw, app):
    """Bytes a client puts raw in the request line (Twilio percent-encodes): the signature
    check answers 403 and records nothing; it does not fail decoding the URL."""
    form = {"MessageSid": "SM" + "d" * 32, "From": TEACHER, "To": "+15005550006", "Body": "hi"}
    client = app.test_client()
    for raw in ("x=\xff", "x=\xe0\xa6", "CallSid=CA\xc3("):
        resp = client.post("/twilio/messaging", data=form,
                           environ_overrides={"QUERY_STRING": raw},
                           headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
        assert resp.status_code == 403, raw
    assert count(rt) == 0


def test_tampered_body_is_refused(rt, roster, tw):
    form = {"MessageSid": "SM" + "e" * 32, "From": TEACHER, "To": "+15005550006", "Body": "hi"}
    from conftest import AUTH_TOKEN, PUBLIC_BASE_URL

    from bot.channels.signature import sign
    good = sign(AUTH_TOKEN, PUBLIC_BASE_URL + "/twilio/messaging", form)
    assert tw.post("/twilio/messaging", dict(form, Body="STOP"), signature=good).status_code == 403
    assert count(rt) == 0


def test_same_message_sid_three_times_gives_one_reply(rt, roster, tw, work, twilio):
    sid = "SM" + "a" * 32
    for _ in range(3):
        assert tw.sms(TEACHER, "hi", sid=sid).status_code == 200
    work()
    for _ in range(2):  # a retry after processing is still a duplicate
        assert tw.sms(TEACHER, "hi", sid=sid).status_code == 200
    work()
    assert count(rt, direction="in") == 1
    assert len(twilio.messages()) == 2  # the welcome and the language question, once


def test_handle_job_running_twice_replies_once(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    with rt.db.session() as db:
        mid = db.execute(select(Message.id)).scalar_one()
    rt.queue("inbound").enqueue(inbound.handle, mid)  # a second copy of the same job
    work()
    assert len(twilio.messages()) == 2


def test_whatsapp_reply_goes_back_on_whatsapp(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hello", channel="whatsapp")
    work()
    sent = twilio.messages()
    assert sent and all(m["To"] == "whatsapp:" + TEACHER for m in sent)
    assert all(m["From"] == "whatsapp:+14155238886" for m in sent)


def test_unknown_number_is_told_how_to_join_once_a_day(rt, roster, tw, work, twilio, clock):
    tw.sms(STRANGER, "hello")
    work()
    sent = twilio.messages()
    assert len(sent) == 1
    assert sent[0]["To"] == STRANGER
    assert "প্রধান শিক্ষক" in sent[0]["Body"] and "উপজেলা" in sent[0]["Body"]
    tw.sms(STRANGER, "hello?")
    work()
    assert len(twilio.messages()) == 1
    clock.advance(hours=25)
    tw.sms(STRANGER, "hello again")
    work()
    assert len(twilio.messages()) == 2
    with rt.db.session() as db:  # nothing else happened for a stranger
        assert db.execute(select(func.count(FlowRun.id))).scalar() == 0


def test_status_callback_updates_the_message(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    work()
    with rt.db.session() as db:
        first = db.execute(select(Message).where(Message.direction == "out")
                           .order_by(Message.id)).scalars().first()
    params = twilio.status_callback_params(first.provider_sid, status="delivered", error_code=None)
    assert tw.post("/twilio/messaging/status", params).status_code in (200, 204)
    late = twilio.status_callback_params(first.provider_sid, status="sent", error_code=None)
    tw.post("/twilio/messaging/status", late)  # arrives after "delivered": ignored
    with rt.db.session() as db:
        assert db.get(Message, first.id).status == "delivered"
    undelivered = twilio.status_callback_params(first.provider_sid, status="undelivered",
                                                error_code=30003)
    assert tw.post("/twilio/messaging/status", undelivered, signature="forged").status_code == 403


def test_undelivered_status_records_the_error(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    work()
    with rt.db.session() as db:
        last = db.execute(select(Message).where(Message.direction == "out")
                          .order_by(Message.id.desc())).scalars().first()
    tw.post("/twilio/messaging/status",
            twilio.status_callback_params(last.provider_sid, status="undelivered", error_code=30003))
    with rt.db.session() as db:
        msg = db.get(Message, last.id)
        assert (msg.status, msg.error_code) == ("undelivered", 30003)


def test_healthz_reports_database_and_redis(app):
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["database"], body["redis"], body["status"]) == ("ok", "ok", "ok")


def dead_redis():
    """A real client pointed at a port where no Redis listens, without client-side retries."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))


def test_healthz_says_when_redis_is_down(rt, app):
    rt.redis = dead_redis()
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["redis"] == "down"


def test_redis_down_loses_nothing(rt, roster, tw, work, twilio, redis_conn, clock):
    rt.redis = dead_redis()
    assert tw.sms(TEACHER, "hi").status_code == 200  # recorded, though not enqueued
    assert count(rt, direction="in", status="received") == 1
    rt.redis = redis_conn  # Redis is back; the sweep finds the message
    clock.advance(minutes=2)
    assert inbound.sweep() == 1
    work()
    assert len(twilio.messages()) == 2


def test_database_down_spools_the_message_and_replays_it(rt, roster, tw, work, twilio):
    from bot.msgs import spool
    from bot.store.db import Database
    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        sid = "SM" + "d" * 32
        assert tw.sms(TEACHER, "hi", sid=sid).status_code == 200
        assert tw.sms(TEACHER, "hi", sid=sid).status_code == 200  # Twilio retry: same file
        assert len(spool.files(spool.IN)) == 1
        assert spool.replay() == 0  # still down: the file stays
        assert len(spool.files(spool.IN)) == 1
    finally:
        rt.db.dispose()
        rt.db = real
    assert spool.replay() == 1
    assert spool.files(spool.IN) == []
    work()
    assert count(rt, direction="in") == 1
    assert len(twilio.messages()) == 2
    assert spool.replay() == 0


def test_a_message_that_cannot_be_handled_is_left_for_a_human_once(rt, roster, tw, clock, caplog):
    tw.sms(TEACHER, "hi")
    rt.queue("inbound").empty()  # pretend every handling attempt was lost
    for _ in range(inbound.SWEEP_MAX_ATTEMPTS):
        clock.advance(minutes=5)
        assert inbound.sweep() == 1
        rt.queue("inbound").empty()
    clock.advance(minutes=5)
    assert inbound.sweep() == 0
    assert inbound.sweep() == 0
    assert count(rt, direction="in", status="failed") == 1
    assert sum("left for a human" in r.getMessage() for r in caplog.records) == 1


def test_a_webhook_opens_no_session_and_the_console_still_does(app, rt, roster, tw,
                                                               monkeypatch):
    """Twilio sends no cookie and the webhooks keep nothing in a session: their requests do
    not open one (verifying a cookie costs a signing serializer per request). The console's
    pages still do."""
    opened = []
    real = app.session_interface.open_session
    monkeypatch.setattr(app.session_interface, "open_session",
                        lambda a, request: opened.append(request.path) or real(a, request))
    assert tw.sms(TEACHER, "hi").status_code == 200
    assert app.test_client().get("/healthz").status_code in (200, 503)
    assert opened == []
    assert count(rt, direction="in") == 1
    assert app.test_client().get("/console/signin").status_code == 200
    assert opened == ["/console/signin"]


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database of the suite's kind (PostgreSQL or SQLite), never migrated."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"sathi_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_healthz_says_where_the_database_schema_stands(rt, app, fresh_database):
    """A host whose database `sathi db upgrade` has not reached answers 503, so a load balancer
    keeps messages away from code whose tables are not there; one that a later release has
    migrated (a rolling deploy) stays in service, and so does one whose revision cannot be
    read (a human's to look at: upgrading would not mend it)."""
    from bot.store.db import Database

    real = rt.db
    rt.db = Database(fresh_database)
    client = app.test_client()

    def health():
        resp = client.get("/healthz")
        body = resp.get_json()
        return resp.status_code, body["status"], body["database"], body["schema"]

    def run(*statements):
        with rt.db.session() as s:
            for statement in statements:
                s.execute(text(statement))

    try:
        assert health() == (503, "degraded", "ok", "behind")  # never migrated
        rt.db.upgrade("0016")
        assert health() == (503, "degraded", "ok", "behind")  # a migration short
        rt.db.upgrade()
        assert health() == (200, "ok", "ok", "current")
        run("UPDATE alembic_version SET version_num = '0099_later_release'")
        assert health() == (200, "ok", "ok", "newer")
        run("DELETE FROM alembic_version")  # emptied by hand: no revision to go on
        assert health() == (200, "ok", "ok", "unknown")
        run("INSERT INTO alembic_version VALUES ('0016')", "INSERT INTO alembic_version "
            "VALUES ('0017')")  # two at once, in a history with one head
        assert health() == (200, "ok", "ok", "unknown")
        failing = ("(1 / (SELECT 0))::text" if rt.db.engine.dialect.name == "postgresql"
                   else "json_extract('not json', '$')")
        run("DROP TABLE alembic_version",  # there, but reading it fails (as without the right)
            f"CREATE VIEW alembic_version AS SELECT {failing} AS version_num")
        assert health() == (200, "ok", "ok", "unknown")
    finally:
        rt.db.dispose()
        rt.db = real


def test_healthz_says_when_the_database_is_down(rt, app):
    from bot.store.db import Database

    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        resp = app.test_client().get("/healthz")
        assert resp.status_code == 503
        assert (resp.get_json()["database"], resp.get_json()["schema"]) == ("down", "unknown")
    finally:
        rt.db.dispose()
        rt.db = real


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="needs PostgreSQL behind a TCP proxy")
def test_healthz_answers_within_its_deadline_when_the_database_hangs(rt, app, database_url):
    """A server that takes the connection and never answers: /healthz says "down" after its
    one deadline (2 s), not after one for the revision and another for the fallback."""
    from tcp_proxy import database_behind_proxy

    from bot.store.db import HEALTH_DEADLINE

    with database_behind_proxy(rt, database_url) as proxy:
        assert app.test_client().get("/healthz").status_code == 200
        proxy.hang()
        started = time.monotonic()
        resp = app.test_client().get("/healthz")
        took = time.monotonic() - started
        assert (resp.status_code, resp.get_json()["database"]) == (503, "down")
        assert took < HEALTH_DEADLINE + 1.0
