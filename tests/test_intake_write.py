"""The webhook's write path (issue 16): one statement records a message, finds its person and
refuses a duplicate; on PostgreSQL it is one round trip on an autocommit connection that is
tried once more when the server dropped it."""
import os
import threading

import pytest
from sqlalchemy import event, func, select, text

from bot.msgs import inbound
from bot.store.models import Message, Person

POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def person(rt, phone="+8801711000001"):
    with rt.db.session() as db:
        p = Person(phone=phone, name="রহিমা", role="teacher", language="bn", channel="sms",
                   created_at=rt.now())
        db.add(p)
    return p


def test_one_statement_stores_a_message_once_with_its_person_and_one_job(rt):
    p = person(rt)
    first = inbound.Incoming(sid="SMdup1", channel="sms", sender=p.phone, body="hi")
    stranger = inbound.Incoming(sid="SMdup2", channel="sms", sender="+8801999999999",
                                body="hi")
    statements = []
    listen = (lambda conn, cursor, statement, params, context, many:
              statements.append(statement))
    engine = rt.db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert inbound.accept(first) is True
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    if engine.dialect.name == "sqlite":  # PostgreSQL's runs on write_once's own engine
        assert len(statements) == 1 and statements[0].startswith("INSERT INTO message")
    assert inbound.accept(first) is False  # Twilio's retry of the same MessageSid
    assert inbound.accept(stranger) is True
    with rt.db.session() as db:
        rows = db.execute(select(Message.provider_sid, Message.person_id, Message.status)
                          .order_by(Message.id)).all()
    assert rows == [("SMdup1", p.id, "received"), ("SMdup2", None, "received")]
    jobs = rt.queue("inbound").jobs
    assert len(jobs) == 2
    assert jobs[0].kwargs == {"person_id": p.id} and jobs[1].kwargs == {}


def test_the_same_sid_from_many_threads_at_once_is_stored_once(rt):
    p = person(rt)
    inc = inbound.Incoming(sid="SMrace", channel="sms", sender=p.phone, body="১")
    results, barrier = [], threading.Barrier(8)

    def post():
        barrier.wait()
        results.append(inbound.accept(inc))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    with rt.db.session() as db:
        assert db.execute(select(func.count(Message.id))).scalar() == 1
    assert rt.queue("inbound").count == 1


@pytest.mark.skipif(not POSTGRES, reason="the autocommit pool is PostgreSQL's")
def test_a_connection_the_server_dropped_is_replaced_and_the_message_recorded(rt):
    p = person(rt)
    assert inbound.accept(inbound.Incoming(sid="SMconn1", channel="sms", sender=p.phone,
                                           body="hi"))
    # the server ends every connection of write_once's pool (as a restart would)
    with rt.db._autocommit.connect() as conn:
        mine = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with rt.db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": mine})
    assert inbound.accept(inbound.Incoming(sid="SMconn2", channel="sms", sender=p.phone,
                                           body="hi"))
    with rt.db.session() as db:
        assert db.execute(select(func.count(Message.id))).scalar() == 2


def test_media_and_times_are_stored_as_sqlalchemy_would_and_faults_keep_their_kind(rt):
    """write_once runs its statement on the driver connection (PostgreSQL): the JSON column,
    the aware datetimes and an error's kind are as SQLAlchemy's own execution makes them."""
    from datetime import timedelta

    from sqlalchemy import exc as sa_exc

    from bot.msgs import spool

    p = person(rt)
    at = rt.now() - timedelta(seconds=5)
    media = (inbound.Media(url="https://api.twilio.com/m/1", type="image/jpeg"),)
    assert inbound.accept(inbound.Incoming(sid="SMmedia", channel="whatsapp", sender=p.phone,
                                           body="ছবি", received_at=at, media=media))
    with rt.db.session() as db:
        m = db.execute(select(Message).where(Message.provider_sid == "SMmedia")).scalar_one()
        assert m.media == [{"url": "https://api.twilio.com/m/1", "type": "image/jpeg"}]
        assert m.created_at == at and m.person_id == p.id and m.channel == "whatsapp"
    stmt = inbound.insert_statement(rt.db.engine.dialect.name)
    values = inbound._values(inbound.Incoming(sid="SMlong", channel="sms", sender=p.phone,
                                              body="hi"), rt.now())
    values["channel"] = "x" * 100  # longer than the column: the row's fault, not the server's
    if POSTGRES:  # (SQLite keeps it)
        with pytest.raises(sa_exc.DataError) as caught:
            rt.db.write_once(stmt, values)
        assert not spool.storage_down(caught.value)
        assert "SMlong" not in str(caught.value)  # hide_parameters: no row values in errors
    with pytest.raises(sa_exc.SQLAlchemyError):
        rt.db.write_once(stmt, {"channel": "sms"})  # a parameter missing
    assert inbound.accept(inbound.Incoming(sid="SMafter", channel="sms", sender=p.phone,
                                           body="hi"))  # the pool still lends a good one
