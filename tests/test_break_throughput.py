"""Hostile tests of issue 16's throughput changes (break16): each one a defect found, or a
guarantee checked that the new fast paths could have lost."""
import pytest
from sqlalchemy import select

from bot.msgs import outbox
from bot.store.models import Message, Person
from test_outbound import callback, message_creates, people, queue, rows, run_jobs


# the send job reads the person once -------------------------------------------------------

def test_a_21610_status_callback_mid_turn_stops_the_rest_of_the_turn(rt, twilio, tw,
                                                                      monkeypatch):
    """Twilio reports 21610 (the person texted STOP to Twilio) on a turn's first reply while
    the send job is still sending the turn: the status callback is applied by the webhook,
    outside the person's turn lock, so the job's copy of the person is stale. None of the
    turn's later replies may go to someone who opted out."""
    (teacher,) = people(rt, 1)
    ids = queue(rt, teacher, ["এক", "দুই", "তিন"])
    real = outbox._send_one

    def send_one(rt_, mid, *args, **kwargs):
        step = real(rt_, mid, *args, **kwargs)
        if mid == ids[0]:  # the provider's report comes in while the job goes on
            callback(tw, twilio, rows(rt, id=mid)[0].provider_sid, "undelivered", 21610)
        return step

    monkeypatch.setattr(outbox, "_send_one", send_one)
    run_jobs(rt)
    assert rows(rt, Person)[0].opted_out
    assert len(message_creates(twilio)) == 1
    assert [m.status for m in rows(rt)] == ["undelivered", "suppressed", "suppressed"]


# the hand-off's prepared commands ----------------------------------------------------------

def test_the_console_simulator_does_not_grow_the_webhooks_hand_off_cache(rt, roster):
    """The console makes a Simulator (queues with a fresh random prefix) for every request;
    a hand-off prepared and kept per queue name would be kept for each of them, for the web
    process's life. Its messages still reach the simulator's own queue and are handled."""
    from bot import runtime
    from bot.msgs import inbound
    from bot.msgs.inbound import Incoming
    from bot.simulate import Simulator

    before = len(inbound._HANDOFFS)
    for n in range(3):
        sim = Simulator(rt)
        with runtime.using(sim):
            assert inbound.accept(Incoming(sid=f"SMsim{n}", channel="sms",
                                           sender="+8801711000001", body="hi",
                                           received_at=rt.now()))
        assert len(sim.queue("inbound")) == 1
        sim.drain()
    assert len(inbound._HANDOFFS) <= before + 1
    with rt.db.session() as db:
        assert db.execute(select(Message.status).where(Message.direction == "in")
                          ).scalars().all() == ["handled"] * 3


# write_once on the pooled driver connection ------------------------------------------------

POSTGRES = __import__("os").environ.get("DATABASE_URL", "").startswith("postgresql")


@pytest.mark.skipif(not POSTGRES, reason="write_once's pool exists on PostgreSQL only")
def test_after_a_server_restart_the_first_webhooks_are_recorded_not_spooled(rt):
    """A restart ends every pooled connection. The first webhook after it finds a dead one
    and tries once more; that try must get a new connection, not the next dead one from the
    pool (SQLAlchemy invalidates the whole pool on a disconnect), or each of the pool's idle
    connections costs one teacher's message a trip through the spool."""
    from sqlalchemy import text

    from bot.msgs import inbound, spool

    with rt.db.session() as db:
        db.add(Person(phone="+8801711000001", name="রহিমা", role="teacher", language="bn",
                      channel="sms", created_at=rt.now()))
    inbound.accept(inbound.Incoming(sid="SMwarm", channel="sms", sender="+8801711000001",
                                    body="hi"))
    held = [rt.db._autocommit.raw_connection() for _ in range(4)]  # four idle in the pool
    pids = []
    for c in held:
        cur = c.dbapi_connection.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pids.append(cur.fetchone()[0])
        cur.close()
    for c in held:
        c.close()
    with rt.db.engine.connect() as admin:
        for pid in pids:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    outcomes = [spool.take(inbound.Incoming(sid=f"SMafter{n}", channel="sms",
                                            sender="+8801711000001", body="hi",
                                            received_at=rt.now())) for n in range(4)]
    assert outcomes == ["recorded"] * 4
