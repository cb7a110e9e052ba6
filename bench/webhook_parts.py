"""What each part of the messaging webhook's record-and-queue path costs, alone, on one thread.

CPU time of this thread (time.thread_time: the kernel's part of its own syscalls included) per
call, over `--n` calls of each part, on PostgreSQL and Redis, printed in microseconds and as a
ratio to the baseline measured in the same run: the same INSERT .. ON CONFLICT DO NOTHING
RETURNING sent through psycopg directly, on one autocommitting connection, with nothing of the
app around it. Each part records new rows (a fresh MessageSid each call).

    intake      intake.incoming: the form's fields checked and cleaned (the phone to E.164)
    write_once  Database.write_once of inbound.insert_statement: the durable record, with the
                webhook's deadline (pool checkout, the statement, the commit)
    handoff     the RQ job for `handle` and the counter, in one MULTI/EXEC (handoff.py)
    accept      inbound.accept: the record, then the hand-off, as the webhook makes them
    take        spool.take: what the webhook calls after intake (accept, or the spool when
                storage is down)

    scripts/install test
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/webhook_parts.py [--n 3000]

It makes and drops its own database (sathi_parts_<random>) and uses Redis db 5 (--redis-db),
which it flushes.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from redisdb import redis_db  # noqa: E402
from scratchdb import ScratchDatabase  # noqa: E402
from throughput import phones, seed_teachers  # noqa: E402

from bot import metrics, runtime  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.msgs import inbound, intake, spool  # noqa: E402
from bot.store.db import Database  # noqa: E402


def per_call(n: int, part) -> float:
    """Microseconds of this thread's CPU per call of part(i), i in range(n)."""
    start = time.thread_time()
    for i in range(n):
        part(i)
    return (time.thread_time() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="calls of each part")
    ap.add_argument("--redis-db", type=int, default=5)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL to PostgreSQL and REDIS_URL to a Redis server")
    import psycopg

    scratch = ScratchDatabase(url, "sathi_parts")
    conn = redis_db(os.environ["REDIS_URL"], args.redis_db)
    conn.flushdb()
    settings = Settings.from_env(database_url=scratch.url, redis_url=None,
                                 twilio_account_sid=None,
                                 instance_dir=Path(tempfile.mkdtemp(prefix="sathi-parts-")))
    rt = None
    try:
        Database(scratch.url).upgrade()
        rt = runtime.Runtime(settings, redis_conn=conn)
        runtime.install(rt)
        people = phones(1000)
        seed_teachers(rt.db.engine, len(people))
        n = args.n

        def incoming(prefix: str, i: int) -> inbound.Incoming:
            return intake.incoming(sid=f"SM{prefix}{i:08d}", sender_address=people[i % 1000],
                                   body="hi", received_at=rt.now(), media_items=())

        stmt = inbound.insert_statement("postgresql")
        rt.db.write_once(stmt, inbound._values(incoming("w", n), rt.now()))  # warm: the form
        form = rt.db._driver_forms[stmt]
        raw = psycopg.connect(scratch.libpq_url, autocommit=True)
        ready = {p: [incoming(p, i) for i in range(n)] for p in ("r", "w", "b", "a", "t")}
        handoff = inbound._handoff(rt)

        def hand_off(i: int) -> None:
            counter = inbound._Commands()
            metrics.count(counter, "sathi_messages_in", channel="sms", status="recorded")
            handoff.enqueue(rt.redis, f"in-{i}", (i,), {"person_id": 1 + i % 1000},
                            extra=counter)

        figures = {
            "psycopg directly (baseline)": per_call(n, lambda i: raw.execute(
                form.sql, form.values(inbound._values(ready["r"][i], rt.now()))).fetchall()),
            "intake": per_call(n, lambda i: incoming("i", i)),
            "write_once": per_call(n, lambda i: rt.db.write_once(
                stmt, inbound._values(ready["w"][i], rt.now()), deadline=spool.WEBHOOK_DEADLINE)),
            "handoff": per_call(n, hand_off),
            "write_once, then handoff": per_call(n, lambda i: (rt.db.write_once(
                stmt, inbound._values(ready["b"][i], rt.now()), deadline=spool.WEBHOOK_DEADLINE),
                hand_off(n + i))),
            "accept (record + hand-off)": per_call(n, lambda i: inbound.accept(
                ready["a"][i], deadline=spool.WEBHOOK_DEADLINE)),
            "take (accept, spool ready)": per_call(n, lambda i: spool.take(ready["t"][i])),
        }
        raw.close()
        base = figures["psycopg directly (baseline)"]
        print(f"the webhook's parts, CPU of one thread per call, {n:,} calls each")
        for name, us in figures.items():
            print(f"    {name:<28} {us:7.0f} µs   {us / base:5.2f}× the baseline")
    finally:
        if rt is not None:
            runtime.install(None)
            rt.close()
        conn.flushdb()
        scratch.drop()


if __name__ == "__main__":
    main()
