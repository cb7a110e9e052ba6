"""While the database is down, inbound messages wait on the web host's disk and are recorded
once it is back: only when it is really down (D2), in the order they came and with the time
they came (D3), within seconds when it hangs (D4), replayed by the web process itself (D9)."""
import json
import os
import threading
import time

import pytest
from conftest import PUBLIC_BASE_URL, WHATSAPP_FROM
from sqlalchemy import func, select
from tcp_proxy import TcpProxy, database_behind_proxy

from bot.msgs import spool
from bot.store.db import Database
from bot.store.models import Message, Person

TEACHER = "+8801711000001"  # রহিমা বেগম, onboarding not yet done
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1"


def inbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "in")
                          .order_by(Message.id)).scalars().all()


def spooled():
    """Every file waiting in the spool, whatever its folder (not the dead letters)."""
    return sorted(p for p in spool.directory().rglob("*.json") if "dead" not in p.parts)


class database_down:
    """The database refuses connections inside the block (a real client, a closed port)."""

    def __init__(self, rt):
        self.rt = rt

    def __enter__(self):
        self.real, self.rt.db = self.rt.db, Database(DOWN)

    def __exit__(self, *exc):
        self.rt.db.dispose()
        self.rt.db = self.real


def form(sid, sender, body, **more):
    return {"MessageSid": sid, "AccountSid": "AC" + "1" * 32, "From": sender,
            "To": "+15005550006", "Body": body, "NumMedia": "0", **more}


# D2 ------------------------------------------------------------------------------------

def test_a_nul_in_body_or_from_is_cleaned_and_recorded_not_spooled(rt, roster, tw):
    assert tw.post("/twilio/messaging", form("SM" + "1" * 32, TEACHER, "হ্যালো\x00!")).status_code == 200
    assert tw.post("/twilio/messaging", form("SM" + "2" * 32, TEACHER + "\x00", "hi")).status_code == 200
    assert spooled() == []
    rows = inbound(rt)
    assert [(m.address, m.body) for m in rows] == [(TEACHER, "হ্যালো!"), (TEACHER, "hi")]
    assert all(m.person_id is not None for m in rows)


@pytest.mark.parametrize("field, value", [("From", "+" + "8" * 40), ("MessageSid", "SM" + "a" * 63)])
def test_an_oversized_sender_or_sid_is_refused_not_spooled(rt, roster, tw, field, value):
    bad = form("SM" + "3" * 32, TEACHER, "hi")
    bad[field] = value
    assert tw.post("/twilio/messaging", bad).status_code == 400
    assert spooled() == [] and inbound(rt) == []


def test_replay_sets_aside_a_message_that_can_never_be_recorded_and_goes_on(rt, roster):
    """Spool files an older version wrote: the middle one can never be recorded (its sender
    has 41 characters). It goes to the dead-letter folder; the others are recorded."""
    d = spool.directory()
    for n, sender in enumerate([TEACHER, "+" + "8" * 40, "+8801711000002"]):
        (d / f"SM{n}{'0' * 31}.json").write_text(json.dumps(
            {"sid": f"SM{n}{'0' * 31}", "channel": "sms", "sender": sender, "body": "hi"}))
    spool.replay()
    assert [m.address for m in inbound(rt)] == [TEACHER, "+8801711000002"]
    assert spooled() == []
    (dead,) = sorted((d / "dead").glob("*.json"))
    assert json.loads(dead.read_text())["sid"] == "SM1" + "0" * 31


# D3 ------------------------------------------------------------------------------------

def test_answers_sent_during_an_outage_are_applied_in_the_order_they_came(
        rt, roster, tw, work, twilio, clock):
    tw.sms(TEACHER, "hi")
    work()  # welcome, and "which language?"
    arrived = []
    with database_down(rt):
        clock.advance(minutes=1)
        arrived.append(clock.current)
        tw.sms(TEACHER, "2", sid="SM" + "f" * 32)  # English
        clock.advance(minutes=1)
        arrived.append(clock.current)
        tw.sms(TEACHER, "1", sid="SM" + "0" * 32)  # then SMS
    clock.advance(minutes=5)
    assert spool.replay() == 2
    work()
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == TEACHER)).scalar_one()
        assert (person.language, person.channel) == ("en", "sms")
    assert [(m.body, m.created_at) for m in inbound(rt)[1:]] == [("2", arrived[0]),
                                                                 ("1", arrived[1])]


def test_a_message_that_comes_while_others_wait_in_the_spool_queues_behind_them(
        rt, roster, tw, work):
    tw.sms(TEACHER, "hi")
    work()
    with database_down(rt):
        tw.sms(TEACHER, "2", sid="SM" + "f" * 32)
    tw.sms(TEACHER, "1", sid="SM" + "0" * 32)  # the database is back, the spool not yet replayed
    spool.replay()
    work()
    assert [m.body for m in inbound(rt)] == ["hi", "2", "1"]


def test_a_message_spooled_by_another_web_process_is_seen_by_the_next_webhook(
        rt, roster, tw, work):
    """A webhook remembers that its queue was empty (it does not read the folder for every
    message), yet a file another process puts there sends the next message behind it."""
    folder = spool._dir(spool.IN)
    long_ago = time.time_ns() - 60 * 10**9  # nothing has been spooled for a minute
    os.utime(folder, ns=(long_ago, long_ago))
    tw.sms(TEACHER, "hi")  # recorded: the queue is empty, and remembered so
    work()
    assert spooled() == [] and not spool.pending()
    # another gunicorn worker could not reach the database a moment ago: it spooled a "2"
    spool._write(inbound_item(rt, "SM" + "e" * 32, "2"))
    tw.sms(TEACHER, "1", sid="SM" + "0" * 32)  # the database is back here: it waits all the same
    assert len(spooled()) == 2
    spool.replay()
    work()
    assert [m.body for m in inbound(rt)] == ["hi", "2", "1"]


def test_a_queue_changed_within_its_folders_timestamp_tick_is_read_again(rt):
    """An empty queue whose folder changed only just now is not remembered as empty: a file
    made within the same timestamp tick would leave the folder's mtime as it was."""
    folder = spool._dir(spool.IN)
    assert not spool.pending()  # the folder was made just now
    made = os.stat(folder).st_mtime_ns
    spool._write(inbound_item(rt, "SM" + "e" * 32, "2"))
    os.utime(folder, ns=(made, made))  # as a file system with coarse timestamps leaves it
    assert spool.pending()


def inbound_item(rt, sid, body):
    from bot.msgs.inbound import Incoming

    return Incoming(sid=sid, channel="sms", sender=TEACHER, body=body, received_at=rt.now())


# D4 ------------------------------------------------------------------------------------

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                                   reason="needs PostgreSQL behind a TCP proxy")


@postgres_only
def test_a_hanging_database_is_spooled_within_seconds_not_lost(rt, roster, tw, database_url):
    with database_behind_proxy(rt, database_url) as proxy:
        assert tw.sms(TEACHER, "hi").status_code == 200  # a pooled connection, alive
        proxy.hang()
        answers = []
        started = time.monotonic()
        t = threading.Thread(target=lambda: answers.append(tw.sms(TEACHER, "2")), daemon=True)
        t.start()
        t.join(10)
        elapsed = time.monotonic() - started
        assert answers, "the webhook did not answer within 10 s while the database hung"
        assert answers[0].status_code == 200 and elapsed < 5
        assert len(spooled()) == 1
        proxy.pass_()
    assert spool.replay() == 1
    assert [m.body for m in inbound(rt)] == ["hi", "2"]


# D9 ------------------------------------------------------------------------------------

def test_the_web_process_replays_its_own_spool(rt, roster, tw):
    """No RQ job on some other host: the process that spooled the message replays it."""
    with database_down(rt):
        tw.sms(TEACHER, "hi")
    assert len(spooled()) == 1
    replayer = spool.Replayer(interval=0.1).start()
    try:
        for _ in range(100):
            if not spooled():
                break
            time.sleep(0.05)
    finally:
        replayer.stop()
    assert [m.body for m in inbound(rt)] == ["hi"]


def test_the_app_starts_its_spool_replayer_and_no_cron_job_replays_the_spool(rt):
    from rq.cron import CronScheduler

    from app import create_app
    from bot.schedule import register

    jobs = register(CronScheduler(connection=rt.redis)).get_jobs()
    assert spool.replay not in {job.func for job in jobs}  # a worker may be on another host
    app = create_app({"TESTING": True, "SPOOL_REPLAYER": True}, rt=rt)
    client = app.test_client()
    client.get("/healthz")
    try:
        assert spool.replayer_running()
    finally:
        spool.stop_replayer()


def test_the_count_of_spooled_messages_is_what_is_on_disk(rt, roster, tw):
    with database_down(rt):
        for n in range(3):
            tw.sms(TEACHER, f"hi {n}", channel="whatsapp" if n else "sms")
    assert spool.size() == {"pending": 3, "dead": 0}
    assert WHATSAPP_FROM and PUBLIC_BASE_URL  # the signed form came through whole
    with rt.db.session() as db:
        assert db.execute(select(func.count(Message.id))).scalar() == 0


def test_an_operator_can_see_replay_and_put_back_the_spool(rt, roster, tw):
    from click.testing import CliRunner

    from bot.cli import main

    with database_down(rt):
        tw.sms(TEACHER, "hi")
    d = spool.directory()
    (d / ("SM9" + "0" * 31 + ".json")).write_text(json.dumps(  # an older version's, bad
        {"sid": "SM9" + "0" * 31, "channel": "sms", "sender": "+" + "8" * 40, "body": "x"}))
    runner = CliRunner()
    assert json.loads(runner.invoke(main, ["spool", "status"]).output) == {"pending": 2,
                                                                           "dead": 0}
    result = runner.invoke(main, ["spool", "replay"])
    assert result.exit_code == 0 and "1 replayed; 0 waiting, 1 set aside" in result.output
    assert "1 put back" in runner.invoke(main, ["spool", "retry-dead"]).output
    assert spool.size() == {"pending": 1, "dead": 0}


def test_a_hanging_redis_costs_the_webhook_seconds_not_the_message(rt, roster, tw, tmp_path):
    """Redis accepts TCP and never answers: the message is recorded all the same, the webhook
    answers well inside Twilio's 15 s, and the sweep queues the message later."""
    from processes import PrivateRedis

    from bot.runtime import connect_redis

    server = PrivateRedis(tmp_path).start()
    real = rt.redis
    try:
        with TcpProxy("127.0.0.1", server.port) as proxy:
            rt.redis = connect_redis(f"redis://127.0.0.1:{proxy.port}/0", tmp_path)
            proxy.hang()
            started = time.monotonic()
            assert tw.sms(TEACHER, "hi").status_code == 200
            took = time.monotonic() - started
            proxy.pass_()
    finally:
        rt.redis = real
        server.kill()
    assert took < 10, f"the webhook took {took:.1f} s"  # Twilio gives up at 15
    assert [(m.body, m.status) for m in inbound(rt)] == [("hi", "received")]
