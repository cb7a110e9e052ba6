"""Redis killed and started again while teachers text in: every message gunicorn accepted is
on record once, and each is handled once the sweep has re-queued what Redis lost."""
import time
from dataclasses import replace
from datetime import timedelta

from processes import free_port, gunicorn, wait_for_http
from sqlalchemy import select
from chaos.web_load import Teachers

from bot.msgs import inbound
from bot.simulate import drain
from bot.store.models import Message, Person

PHONES = [f"+88017130{i:05d}" for i in range(8)]


def test_restarting_redis_under_inbound_load_loses_no_accepted_message(
        chaos_rt, private_redis, clock):
    rt = chaos_rt
    with rt.db.session() as db:
        db.add_all([Person(phone=p, name=f"শিক্ষক {i}", role="teacher", language="bn",
                           channel="sms", onboarded_at=rt.now(), created_at=rt.now())
                    for i, p in enumerate(PHONES)])
    port = free_port()
    settings = replace(rt.settings, public_base_url=f"http://127.0.0.1:{port}")
    web = gunicorn(settings, rt.redis, port, workers=3)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        load = Teachers(settings.public_base_url, settings.twilio_auth_token, PHONES, pause=0.3).start()
        time.sleep(3)
        private_redis.kill()  # down hard, queues and all (no persistence)
        time.sleep(3)
        private_redis.start()  # back on the same port
        time.sleep(4)
        sent = load.stop()
    finally:
        web.stop()

    assert len(sent) > 50
    assert [s for s in sent if s.status != 200] == []  # every one accepted
    with rt.db.session() as db:
        recorded = db.execute(select(Message.provider_sid, Message.status).where(
            Message.direction == "in")).all()
    sids = [sid for sid, _ in recorded]
    assert sorted(sids) == sorted(s.sid for s in sent)  # each once, none lost

    clock.advance(minutes=2)  # what Redis lost is swept back into the queue
    inbound.sweep(older_than=timedelta(minutes=1))
    drain(rt)
    with rt.db.session() as db:
        left = db.execute(select(Message.status).where(
            Message.direction == "in", Message.status == "received")).scalars().all()
    assert left == []
    assert web.output().count("Traceback") == 0
