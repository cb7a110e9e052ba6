"""A hostile look at "nothing lost, nothing twice" (issue 15) across channels: status reports
that do not move a message forward never cause a re-send or a fallback, spooled items are never
mistaken for one another, a send whose worker died after the gateway took it is not sent again,
and a gateway's webhook keeps its promises when the database hangs or Redis is down."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from conftest import channels_file
from sqlalchemy import select
from tcp_proxy import database_behind_proxy
from test_outbound import callback, people, queue, rows, run_jobs
from test_webhook import dead_redis

from bot.msgs import inbound as inbound_mod
from bot.msgs import outbox, spool
from bot.msgs.inbound import Incoming
from bot.store.db import Database
from bot.store.models import Message

TEACHER = "+8801711000001"  # রহিমা বেগম in the demo roster


@pytest.fixture
def settings(settings, smsgate_env, tmp_path):
    return replace(settings, channels_file=channels_file(tmp_path, "smsgate.yaml"))


def inbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "in")
                          .order_by(Message.id)).scalars().all()


# status reports that do not advance -----------------------------------------------------

@pytest.mark.parametrize("reports", [
    [("delivered", None), ("undelivered", 30003)],  # a failure after the delivery
    [("delivered", None), ("sent", None), ("undelivered", 30003)],
])
def test_twilio_a_failure_reported_after_delivery_is_not_resent(rt, twilio, tw, reports):
    teacher, = people(rt, 1)
    queue(rt, teacher, ["পাথর গুনি"])
    run_jobs(rt)
    (msg,) = rows(rt, direction="out")
    for status, code in reports:
        callback(tw, twilio, msg.provider_sid, status, code)
        run_jobs(rt)
    assert len(twilio.messages()) == 1
    assert [m.status for m in rows(rt, direction="out")] == ["delivered"]


def test_whatsapp_read_then_failed_makes_no_sms_fallback(rt, twilio, tw):
    teacher, = people(rt, 1, channel="whatsapp")
    queue(rt, teacher, ["পাথর গুনি"])
    run_jobs(rt)
    (msg,) = rows(rt, direction="out")
    callback(tw, twilio, msg.provider_sid, "read")
    callback(tw, twilio, msg.provider_sid, "failed", 63024)
    run_jobs(rt)
    assert [(m.channel, m.status) for m in rows(rt, direction="out")] == [("whatsapp", "read")]
    assert len(twilio.messages()) == 1


def test_a_failure_that_beat_the_send_then_delivered_sends_once(rt, twilio, tw):
    """A failure arriving early (kept in Redis) followed by "delivered": applied in that
    order when the send is recorded; the message was delivered, so nothing more goes."""
    teacher, = people(rt, 1)
    queue(rt, teacher, ["পাথর গুনি"])
    run_jobs(rt)
    (msg,) = rows(rt, direction="out")
    callback(tw, twilio, msg.provider_sid, "undelivered", 30003)
    callback(tw, twilio, msg.provider_sid, "delivered")
    run_jobs(rt)
    assert len(twilio.messages()) == 1


def test_reports_that_beat_the_send_are_applied_in_the_order_they_came(rt, twilio, tw):
    """"delivered" then a stale "undelivered" both arrive before the worker stored the sid:
    kept in order, the second changes nothing; it was not kept instead of the first."""
    teacher, = people(rt, 1)
    sid = "SM" + "5" * 32
    with rt.db.session() as db:
        mid = outbox.queue_text(db, person=teacher, address=teacher.phone, channel="sms",
                                key="test.text", body="পাথর গুনি", now=rt.now()).id
    callback(tw, twilio, sid, "delivered")
    callback(tw, twilio, sid, "undelivered", 30003)
    with rt.db.session() as db:  # the worker records its send
        msg = db.get(Message, mid)
        msg.status, msg.provider, msg.provider_sid, msg.attempts = "sent", "twilio", sid, 1
        outbox._apply_early_status(rt, db, msg, rt.now())
    run_jobs(rt)
    assert [(m.status, m.provider_sid) for m in rows(rt, direction="out")] == [("delivered", sid)]
    assert twilio.messages() == []


def test_a_report_that_comes_after_the_early_ones_were_taken_but_before_the_commit_is_applied(
        rt, twilio, tw, monkeypatch):
    """The send is recorded, the reports that beat it are taken, and one more comes before the
    sender's transaction commits: the webhook cannot see the sid yet and keeps it as early.
    It is applied all the same (a failure kept and never read would leave a WhatsApp reply
    `sent` for ever, with no SMS fallback)."""
    teacher, = people(rt, 1)
    queue(rt, teacher, ["পাথর গুনি"])
    take, came = outbox._take_early, []

    def take_then_a_report_comes(rt_, keys, *write):
        taken = take(rt_, keys, *write)
        for key in keys:
            if not came and key.startswith(outbox.early_key("SM")):
                sid = key[len(outbox.early_key("")):]
                came.append(callback(tw, twilio, sid, "delivered"))  # not committed: kept early
        return taken

    monkeypatch.setattr(outbox, "_take_early", take_then_a_report_comes)
    run_jobs(rt)
    assert came
    (msg,) = rows(rt, direction="out")
    assert msg.status == "delivered"
    assert rt.redis.keys(outbox.early_key("*")) == []


def test_a_report_kept_as_early_just_after_the_send_committed_and_looked_is_applied(
        rt, twilio, tw, monkeypatch):
    """The webhook looks for the sid before the send commits (not there), the send commits
    and looks for reports kept meanwhile (none yet), then the webhook keeps its report as
    early: the webhook looks again once it has kept it, finds the send, and applies it."""
    teacher, = people(rt, 1)
    queue(rt, teacher, ["পাথর গুনি"])
    committed, posted, reports = threading.Event(), [], ThreadPoolExecutor(1)
    keep, late = outbox.keep_early, outbox._late_reports

    def keep_once_the_send_is_done(sid, status, code):
        assert committed.wait(30)
        keep(sid, status, code)

    def late_then_let_the_webhook_go_on(*args):
        found = late(*args)
        committed.set()
        posted[0].result(30)  # the report is kept (or applied) before the job goes on
        return found

    def report(sid, form):
        posted.append(reports.submit(callback, tw, twilio, sid, "delivered"))

    monkeypatch.setattr(outbox, "keep_early", keep_once_the_send_is_done)
    monkeypatch.setattr(outbox, "_late_reports", late_then_let_the_webhook_go_on)
    twilio.before_answer = report
    run_jobs(rt)
    reports.shutdown()
    (msg,) = rows(rt, direction="out")
    assert msg.status == "delivered"
    assert rt.redis.keys(outbox.early_key("*")) == []


# the spool ----------------------------------------------------------------------------

def test_two_spooled_messages_whose_ids_differ_only_in_punctuation_are_both_kept(rt, roster):
    """The spool names files by the provider's id with punctuation folded to "_": a gateway's
    ids "a.b" and "a_b" are two messages, not a retry of one."""
    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        for sid, body in [("local:17.1", "2"), ("local:17_1", "1"), ("local:x-local:9", "a"),
                          ("local:9", "b")]:
            assert spool.take(Incoming(sid=sid, channel="sms", sender=TEACHER, body=body,
                                       provider="phone", received_at=rt.now())) == "spooled"
    finally:
        rt.db.dispose()
        rt.db = real
    spool.replay()
    assert [m.body for m in inbound(rt)] == ["2", "1", "a", "b"]


def test_two_reports_on_one_message_while_the_database_is_down_are_both_kept(rt, twilio, tw):
    """Twilio reports "sent" and then "undelivered" (30003) while the database is down: the
    second is no retry of the first, and it is the one that asks for the re-send."""
    teacher, = people(rt, 1)
    queue(rt, teacher, ["পাথর গুনি"])
    run_jobs(rt)
    (msg,) = rows(rt, direction="out")
    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        callback(tw, twilio, msg.provider_sid, "sent")
        callback(tw, twilio, msg.provider_sid, "undelivered", 30003)
    finally:
        rt.db.dispose()
        rt.db = real
    spool.replay()
    run_jobs(rt)
    assert [m.status for m in rows(rt, direction="out")] == ["undelivered", "sent"]
    assert len(twilio.messages()) == 2


# a worker killed after the gateway took the message -----------------------------------

def test_a_send_whose_worker_died_after_the_phone_took_it_is_not_sent_again(rt, roster, phone,
                                                                             smsgate, work):
    """kill -9 between the gateway's answer and our record of it: the row is left `sending`.
    Once its lease is over it is reconciled with the gateway, and she gets it once."""
    from bot.channels.base import Outgoing
    from bot.msgs import routing
    with rt.db.session() as db:
        from bot.store.models import Person
        p = db.execute(select(Person).where(Person.phone == TEACHER)).scalar_one()
        msg = outbox.queue_text(db, person=p, address=TEACHER, channel="sms", key="test.text",
                                body="পাথর গুনি", now=rt.now())
        msg.provider = "phone"
        way = routing.route(rt, db, msg)
        msg.status, msg.attempts = "sending", 1
        msg.next_attempt_at = rt.now() + outbox.SENDING_LEASE
        mid = msg.id
    # what the dead worker did before it died: the gateway took the message
    way.adapter.send(Outgoing(to=TEACHER, channel="sms", body="পাথর গুনি", ref=str(mid)))
    assert len(smsgate.sent()) == 1
    rt.clock.advance(minutes=5)
    assert outbox.sweep() == 1
    run_jobs(rt)
    assert len(smsgate.sent()) == 1, smsgate.sent()
    assert rows(rt, direction="out")[0].status == "sent"


# webhooks of a gateway while storage is in trouble --------------------------------------

postgres_only = pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL behind a TCP proxy")


@postgres_only
def test_a_hanging_database_spools_the_gateways_message_within_seconds(rt, roster, phone,
                                                                       database_url, work,
                                                                       smsgate):
    with database_behind_proxy(rt, database_url) as proxy:
        assert phone.sms(TEACHER, "hi").status_code == 200
        proxy.hang()
        answers = []
        started = time.monotonic()
        t = threading.Thread(target=lambda: answers.append(phone.sms(TEACHER, "1")),
                             daemon=True)
        t.start()
        t.join(10)
        elapsed = time.monotonic() - started
        assert answers and answers[0].status_code == 200 and elapsed < 5
        proxy.pass_()
    assert spool.replay() == 1
    assert [(m.body, m.provider) for m in inbound(rt)] == [("hi", "phone"), ("1", "phone")]


def test_redis_down_the_gateways_message_is_recorded_and_swept(rt, roster, phone, smsgate,
                                                               redis_conn, work, clock):
    rt.redis = dead_redis()
    try:
        assert phone.sms(TEACHER, "hi").status_code == 200
    finally:
        rt.redis = redis_conn
    assert [(m.body, m.status) for m in inbound(rt)] == [("hi", "received")]
    clock.advance(minutes=2)
    assert inbound_mod.sweep() == 1
    work()
    assert len(smsgate.sent()) == 2  # the welcome and the language question, from the phone


def test_a_duplicate_of_a_spooled_message_arriving_after_replay_is_one_message(
        rt, roster, phone, smsgate, work):
    real = rt.db
    rt.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        assert phone.sms(TEACHER, "hi", event_id="ev-1").status_code == 200
    finally:
        rt.db.dispose()
        rt.db = real
    assert spool.replay() == 1
    assert phone.sms(TEACHER, "hi", event_id="ev-1").status_code == 200  # the phone retries
    work()
    assert len(inbound(rt)) == 1 and len(smsgate.sent()) == 2

