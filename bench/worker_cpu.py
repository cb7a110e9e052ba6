"""CPU a worker spends on one teacher's "hi" (issue 16's drain, one process, no noise from the
web side): CPU ms per message, by time.process_time, of one in-process RQ worker (the
production `worker.Worker`, loaded as `sathi worker` loads it) draining N messages.

N rostered teachers (not onboarded) each text "hi": the messages are recorded and enqueued as
the webhook does (`inbound.accept`, not measured), then the worker drains the queue in burst
mode: each job claims the message, starts onboarding and sends the two replies to the Twilio
double (tests/twilio_double.py, run in a process of its own so its CPU is not counted). A first
batch (--warm) is drained unmeasured, so the figure is the steady state, not the first use of
each cache.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/worker_cpu.py --redis-db 8

It makes and drops its own database (sathi_cpu_<random>) and flushes the Redis db it is given.
Needs the test extras (`scripts/install test`: the Twilio double is served by waitress).
`--profile out.prof` writes a cProfile of the measured drain; `--monitor` counts the Redis
commands the measured drain sends (with `redis-cli monitor`, so the server does more work).
`--repeat K` measures K batches of N in the one process and prints each.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from redisdb import redis_db  # noqa: E402
from scratchdb import ScratchDatabase  # noqa: E402
from throughput import seed_teachers  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

TOKEN = "bench-token"
FROM = "+15005550006"


def _serve_double(out, stop) -> None:
    """The Twilio double, in a process of its own: puts (url, account sid) on `out`."""
    from twilio_double import TwilioDouble

    double = TwilioDouble(auth_token=TOKEN).start()
    out.put((double.url, double.account_sid))
    stop.wait()
    out.put(len(double.messages()))
    double.stop()


def record(first: int, n: int, tag: str) -> None:
    """Teachers first .. first+n-1 each text "hi", recorded and enqueued as the webhook does."""
    from bot.msgs.inbound import Incoming, accept

    for i in range(first, first + n):
        accept(Incoming(sid=f"SM{tag}{i:08d}", channel="sms", sender=f"+8801712{i:06d}",
                        body="hi"))


def drain(rt) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one burst-mode worker draining every queue."""
    import worker as sathi_worker
    from bot import runtime

    w = sathi_worker.Worker([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
    w.log.disabled = True  # RQ's per-job INFO lines are not what is measured (see --rq-log)
    c0, t0 = time.process_time(), time.perf_counter()
    w.work(burst=True, logging_level="WARNING")
    return time.process_time() - c0, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=500, help="messages measured (each batch)")
    ap.add_argument("--warm", type=int, default=50, help="messages drained first, unmeasured")
    ap.add_argument("--repeat", type=int, default=1, help="measured batches")
    ap.add_argument("--redis-db", type=int, default=int(os.environ.get("SATHI_TEST_REDIS_DB", 3)))
    ap.add_argument("--profile", help="write a cProfile of the (last) measured batch here")
    ap.add_argument("--monitor", action="store_true", help="count Redis commands (redis-cli)")
    ap.add_argument("--statements", action="store_true", help="count SQL statements")
    args = ap.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL to PostgreSQL and REDIS_URL to a Redis server")

    from bot import logs, runtime
    from bot.config import Settings
    from bot.store.db import Database

    scratch = ScratchDatabase(base_url, "sathi_cpu")
    db_url = scratch.url
    conn = redis_db(os.environ["REDIS_URL"], args.redis_db)
    conn.flushdb()
    ctx = multiprocessing.get_context("spawn")
    out, stop = ctx.Queue(), ctx.Event()
    double = ctx.Process(target=_serve_double, args=(out, stop), daemon=True)
    double.start()
    url, account_sid = out.get(timeout=60)
    tmp = Path(tempfile.mkdtemp(prefix="sathi-cpu-"))
    total = args.warm + args.n * args.repeat
    try:
        Database(db_url).upgrade()
        settings = Settings.from_env(
            database_url=db_url, redis_url=None, twilio_account_sid=account_sid,
            twilio_auth_token=TOKEN, twilio_api_base=url, twilio_sms_from=FROM,
            twilio_whatsapp_from=None, public_base_url="https://sathi.example.org",
            rasa_url=None, instance_dir=tmp / "instance", sms_rate=0.0, whatsapp_rate=0.0)
        rt = runtime.Runtime(settings, redis_conn=conn)
        runtime.install(rt)
        logs.setup()
        import worker as sathi_worker

        sathi_worker.preload()  # as `sathi worker` does: its own pool, the NLU models
        seed_teachers(rt.db.engine, total)
        record(1, args.warm, "w")
        drain(rt)
        first = args.warm + 1
        for k in range(args.repeat):
            record(first, args.n, f"m{k}")
            first += args.n
            statements: list = []

            def count(*_args) -> None:
                statements.append(1)

            if args.statements:
                event.listen(rt.db.engine, "before_cursor_execute", count)
            mon = None
            if args.monitor:
                mon_out = Path(os.environ.get("MONITOR_OUT", tmp / "monitor.txt"))
                mon = subprocess.Popen(["redis-cli", "-u", os.environ["REDIS_URL"], "monitor"],
                                       stdout=mon_out.open("w"))
                time.sleep(0.5)
            if args.profile and k == args.repeat - 1:
                import cProfile

                prof = cProfile.Profile(time.process_time)  # CPU, not waits
                prof.enable()
                cpu, wall = drain(rt)
                prof.disable()
                prof.dump_stats(args.profile)
            else:
                cpu, wall = drain(rt)
            line = (f"batch {k + 1}: {args.n} messages, CPU {cpu * 1e3 / args.n:.2f} ms/message, "
                    f"wall {wall * 1e3 / args.n:.2f} ms/message")
            if mon is not None:
                time.sleep(0.5)
                mon.terminate()
                mon.wait()
                marker = f"[{args.redis_db} "
                lines = [ln for ln in mon_out.read_text().splitlines() if marker in ln]
                line += f", Redis {len(lines) / args.n:.1f} commands/message"
            if args.statements:
                event.remove(rt.db.engine, "before_cursor_execute", count)
                line += f", SQL {len(statements) / args.n:.1f} statements/message"
            print(line, flush=True)
        from bot.store.models import Message

        with rt.db.session() as db:
            waiting = db.execute(select(func.count()).select_from(Message).where(
                Message.status.in_(("received", "queued", "sending")))).scalar()
            replies = db.execute(select(func.count()).select_from(Message).where(
                Message.direction == "out", Message.status == "sent")).scalar()
        stop.set()
        at_double = out.get(timeout=30)
        print(f"checks: {total} messages in, {replies} replies sent, {at_double} at the double, "
              f"{waiting} left waiting", flush=True)
        if waiting or replies != 2 * total or at_double != replies:
            sys.exit("the drain did not do what it should")
        runtime.install(None)
        rt.close()
    finally:
        stop.set()
        double.join(timeout=10)
        conn.flushdb()
        scratch.drop()


if __name__ == "__main__":
    main()
