"""PostgreSQL refuses connections for 30 s, then accepts them and never answers for 30 s,
while teachers keep texting: every webhook answers within 5 s, nothing accepted is lost, and
the web process itself replays its spool in each teacher's order, with the arrival times.

Between the two the database answers just long enough for the spool to drain: while the spool
holds anything, a webhook queues behind it without asking the database at all, so a hang that
began with a full spool would never test the webhook's own 3-s deadline."""
import time
from collections import defaultdict
from dataclasses import replace

from chaos.chaos_helpers import wait_until
from processes import free_port, gunicorn, wait_for_http
from sqlalchemy import select
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy
from chaos.web_load import Teachers

from bot.store.models import Message, Person

PHONES = [f"+88017140{i:05d}" for i in range(3)]
REFUSE, HANG = 30, 30  # seconds, as the issue asks
ANSWER_WITHIN = 5.0  # seconds: Twilio gives up at 15


def test_postgres_refusing_then_hanging_loses_nothing_and_keeps_order(
        chaos_rt, private_redis, database_url):
    rt = chaos_rt
    with rt.db.session() as db:
        db.add_all([Person(phone=p, name=f"শিক্ষক {i}", role="teacher", language="bn",
                           channel="sms", onboarded_at=rt.now(), created_at=rt.now())
                    for i, p in enumerate(PHONES)])
    url = make_url(database_url)
    port = free_port()
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        settings = replace(rt.settings, public_base_url=f"http://127.0.0.1:{port}",
                           database_url=via_proxy)
        web = gunicorn(settings, rt.redis, port, workers=4)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz")
            load = Teachers(settings.public_base_url, settings.twilio_auth_token, PHONES, pause=0.5).start()
            time.sleep(3)
            proxy.refuse()
            time.sleep(REFUSE)
            proxy.pass_()
            wait_until(lambda: spool_empty(settings), 60, what="the spool to drain")
            proxy.hang()
            time.sleep(HANG)
            proxy.pass_()
            # the web process replays its own spool (no cron, no worker), behind which new
            # messages queue meanwhile
            wait_until(lambda: spool_empty(settings), 60, what="the spool to drain")
            time.sleep(2)
            sent = load.stop()
        finally:
            web.stop()
            proxy.pass_()

    assert [s for s in sent if s.status != 200] == []
    slowest = max(s.took for s in sent)
    assert slowest < ANSWER_WITHIN, f"a webhook took {slowest:.1f} s"
    assert slowest > 1.0  # the hang reached a webhook, which gave up on the database in time
    assert len(sent) > 60

    with rt.db.session() as db:
        rows = db.execute(select(Message).where(Message.direction == "in")
                          .order_by(Message.id)).scalars().all()
    assert sorted(m.provider_sid for m in rows) == sorted(s.sid for s in sent)  # once each
    got, wanted = defaultdict(list), defaultdict(list)
    for m in rows:
        got[m.address].append((m.body, m.created_at.timestamp()))
    for s in sorted(sent, key=lambda s: s.at):
        wanted[s.phone].append(s.body)
    for phone in PHONES:
        assert [body for body, _ in got[phone]] == wanted[phone]  # in the order typed
        times = [at for _, at in got[phone]]
        assert times == sorted(times)  # and stamped with when each came


def spool_empty(settings) -> bool:
    root = settings.instance_dir / "spool"
    return not any(p for p in root.rglob("*.json") if "dead" not in p.parts)
