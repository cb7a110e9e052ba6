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


def test_a_21610_that_beats_its_send_being_recorded_stops_the_rest_of_the_turn(rt, twilio, tw):
    """The status callback comes before the send's answer (kept early, applied when the sid
    is recorded): the turn's later replies are suppressed all the same."""
    (teacher,) = people(rt, 1)
    ids = queue(rt, teacher, ["এক", "দুই", "তিন"])
    first = []

    def early(sid, form):
        if not first:
            first.append(sid)
            callback(tw, twilio, sid, "undelivered", 21610)

    twilio.before_answer = early
    run_jobs(rt)
    assert rows(rt, Person)[0].opted_out
    assert len(message_creates(twilio)) == 1
    assert [m.status for m in rows(rt)] == ["undelivered", "suppressed", "suppressed"]
    assert ids


# the signature shortcut ----------------------------------------------------------------------

SIGNING_CASES = [  # (url signed, url checked, params signed, params checked, token)
    ("https://sathi.example/twilio/messaging", "https://sathi.example/twilio/messaging",
     {"A": "1", "B": "2"}, {"B": "2", "A": "1"}, "tok"),  # reordered: still valid
    ("https://sathi.example:443/twilio/messaging", "https://sathi.example/twilio/messaging",
     {"A": "1"}, {"A": "1"}, "tok"),
    ("https://sathi.example/twilio/messaging", "https://sathi.example:443/twilio/messaging",
     {"A": "1"}, {"A": "1"}, "tok"),
    ("https://sathi.example:8443/twilio/messaging", "https://sathi.example/twilio/messaging",
     {"A": "1"}, {"A": "1"}, "tok"),  # another port: invalid
    ("https://sathi.example/twilio/messaging", "https://sathi.example:8443/twilio/messaging",
     {"A": "1"}, {"A": "1"}, "tok"),
    ("http://sathi.example/twilio/messaging", "https://sathi.example/twilio/messaging",
     {"A": "1"}, {"A": "1"}, "tok"),  # another scheme
    ("https://sathi.example/twilio/messaging", "https://sathi.example/twilio/messaging",
     {"A": "1"}, {"A": "2"}, "tok"),  # tampered
    ("https://sathi.example/twilio/messaging", "https://sathi.example/twilio/messaging",
     {"A": "1", "A2": ""}, {"A": "1"}, "tok"),  # a field dropped
    ("https://sathi.example/twilio/messaging?x=1", "https://sathi.example/twilio/messaging",
     {"A": "1"}, {"A": "1"}, "tok"),  # the query string
]


@pytest.mark.parametrize("signed_url, url, signed, params, token", SIGNING_CASES)
@pytest.mark.parametrize("checked_token", ["tok", "other"])
def test_the_signature_shortcut_agrees_with_twilio_on_ports_schemes_and_tokens(
        signed_url, url, signed, params, token, checked_token):
    from twilio.request_validator import RequestValidator

    from bot.channels import signature

    sig = signature.sign(token, signed_url, signed)
    assert signature.valid(checked_token, url, params, sig) == RequestValidator(
        checked_token).validate(url, params, sig)
    if checked_token != token:
        assert not signature.valid(checked_token, url, params, sig)


@pytest.mark.parametrize("raw", [
    "+8801711000001", "+৮৮০১৭১১০০০০০১", "8801711000001", " +8801711000001 ",
    "+880 1711 000001", "+88001711000001", "+880171100000", "+88017110000011",
    "+8801211000001", "+8801311000001", "+8801911000001", "whatsapp:+8801711000001",
    "০১৭১১০০০০০১", "01711000001", "+8801711000001\u200b",
])
def test_the_e164_shortcut_agrees_with_phonenumbers(raw):
    import phonenumbers

    from bot.contacts import phones

    def slow(text):
        text = text.strip().removeprefix("whatsapp:").strip()
        digits = "".join(ch for ch in text if ch.isdigit())
        if text and not text.startswith("+") and digits.startswith("880"):
            text = "+" + digits
        try:
            n = phonenumbers.parse(text, "BD")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(n):
            return None
        return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)

    try:
        fast = phones.e164(raw)
    except phones.InvalidPhone:
        fast = None
    assert fast == slow(raw)


# handle stops at its own message -------------------------------------------------------------

def test_a_newer_messages_job_first_then_the_older_ones_each_handled_once_in_order(
        rt, roster, tw):
    """Three messages from one teacher; their jobs run newest first, then the others, then
    the newest again (a retry): each message handled once, oldest first, and no job is left
    with work another would have had to do."""
    from bot.msgs import inbound
    from bot.store.models import Message as M

    teacher = "+8801711000001"
    for n, body in enumerate(["hi", "1", "2"]):
        assert tw.sms(teacher, body, sid=f"SMorder{n}").status_code == 200
    with rt.db.session() as db:
        ids, person_id = zip(*db.execute(select(M.id, M.person_id).where(
            M.direction == "in").order_by(M.id)).all())
    handled = []
    real = inbound._act

    def act(rt_, db, msg):
        handled.append(msg.id)
        return real(rt_, db, msg)

    import unittest.mock as mock
    with mock.patch.object(inbound, "_act", act):
        inbound.handle(ids[2], person_id[0])
        assert handled == list(ids)
        for mid in (ids[0], ids[1], ids[2]):
            inbound.handle(mid, person_id[0])
    assert handled == list(ids)
    with rt.db.session() as db:
        assert db.execute(select(M.status).where(M.direction == "in")).scalars().all() == [
            "handled"] * 3


# a write that committed but whose answer was lost ------------------------------------------

def test_a_message_whose_insert_committed_after_the_deadline_is_handled_on_replay(
        rt, roster, tw, work, twilio, monkeypatch):
    """On a slow database the webhook gives up at its deadline and spools the message; but
    the autocommitted INSERT goes on on the server and commits. The replay then finds it
    'already there' (a duplicate) and records nothing, so no job was ever queued for it: the
    teacher waits for the inbound sweep (a minute or more) instead of getting the answer
    when the replay runs."""
    from sqlalchemy.exc import OperationalError

    from bot.msgs import spool

    real = rt.db.write_once

    def committed_then_cut(*args, **kwargs):
        rows = real(*args, **kwargs)
        raise OperationalError("INSERT", None, Exception("the database did not answer before "
                                                         "the deadline"))
        return rows

    monkeypatch.setattr(rt.db, "write_once", committed_then_cut)
    assert tw.sms("+8801711000001", "hi", sid="SMlate1").status_code == 200
    monkeypatch.setattr(rt.db, "write_once", real)
    assert spool.files(spool.IN)  # spooled, as the deadline says
    spool.replay()
    work()
    with rt.db.session() as db:
        assert db.execute(select(Message.status).where(
            Message.provider_sid == "SMlate1")).scalar() == "handled"
    assert twilio.messages()


@pytest.mark.skipif(not POSTGRES, reason="write_once's pool exists on PostgreSQL only")
def test_the_first_webhooks_at_once_make_one_write_pool_not_one_each(rt, monkeypatch):
    """write_once makes its autocommit engine on first use. Webhook threads that arrive
    together at a fresh process each made one; all but the last were dropped with their
    connections still open (never disposed, never reused)."""
    import threading
    import time

    from bot.store.db import Database

    db = Database(rt.settings.database_url)
    made = []
    real = Database._server_engine

    def slow(url, **kwargs):
        engine = real(url, **kwargs)
        if kwargs.get("isolation_level") == "AUTOCOMMIT":
            made.append(engine)
            time.sleep(0.2)  # as a cold import or a busy CPU would
        return engine

    monkeypatch.setattr(Database, "_server_engine", staticmethod(slow))
    from sqlalchemy import text
    threads = [threading.Thread(target=db.write_once, args=(text("SELECT 1"),))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.dispose()
    for engine in made:
        engine.dispose()
    assert len(made) == 1
