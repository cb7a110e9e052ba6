"""The programme console's dashboard for 1,000,000 teachers, on PostgreSQL.

It seeds its own database with bench/digest.py's world (set-based SQL: 20,000 schools, 500
upazilas, three school weeks of nudges, reminders, reflections and answers, check-ins, a month
of assessments) plus this week's nudge as an SMS to every teacher (two segments each), works
out the weekly rollup for the 12 weeks the dashboard shows, as the digests and the nightly job
keep it (untimed: that is the digests' benchmark), signs in through the sign-in form and then
times, through Flask's test client (the whole request: session, sign-in check, queries,
template, SVG charts), on Thursday 3 December 2026 at 17:00:

    baseline   the people page with no search: a signed-in page that reads the account and
               renders the layout, no figures
    dashboard  the country (every upazila listed), a district, an upazila (its officer),
               and an upazila's 12 weeks as CSV

Each is the median of REPEATS loads after one warm-up. It prints each one's time, its ratio to
the baseline, and whether it is under a second; then the upazila's page again once its figures
are stale (a page never works them out), and, for the record, what the cron job that keeps
them fresh (digests.jobs.keep_fresh) takes to work this week out again.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    .venv/bin/python bench/console.py [--teachers 1000000]

It makes and drops its own database; Redis is not used by these pages.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import digest as world  # noqa: E402  (bench/digest.py: its seed and its moment)
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import runtime  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.digests import figures, rollup  # noqa: E402
from bot.digests.jobs import KEEP_FRESH_EVERY  # noqa: E402
from bot.store.models import Person  # noqa: E402

REPEATS = 5  # timed loads of each page (the median is printed)
PASSWORD = "bench password, not a secret"
LIMIT = 1.0  # seconds: the bar for a page


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def seed_sms(db) -> int:
    """This week's nudge as a two-segment Bangla SMS to every teacher it went to."""
    with db.engine.begin() as c:
        c.execute(text("""
            INSERT INTO message (direction, channel, provider, person_id, address, body, key,
                                 segments, status, attempts, created_at, updated_at)
            SELECT 'out', 'sms', 'twilio', r.person_id, p.phone, 'nudge', 'weekly.nudge', 2,
                   'delivered', 1, r.done_at, r.done_at
            FROM campaign_run r JOIN person p ON p.id = r.person_id
            WHERE r.campaign = 'nudge' AND r.week = :week"""), {"week": world.WEEKS[-1]})
        c.execute(text("ANALYZE message"))
        return c.execute(text("SELECT count(*) FROM message")).scalar()


def timed(client, path: str, repeats: int = REPEATS) -> float:
    resp = client.get(path, base_url="https://localhost")
    assert resp.status_code == 200, (path, resp.status_code)
    took = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        resp = client.get(path, base_url="https://localhost")
        body = resp.get_data()
        took.append(time.perf_counter() - t0)
        assert resp.status_code == 200 and body
    return statistics.median(took)


def sign_in(app, email: str):
    import re

    client = app.test_client()
    page = client.get("/console/signin", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/console/signin", base_url="https://localhost",
                       headers={"Referer": "https://localhost/console/signin"},
                       data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    return client


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teachers", type=int, default=1_000_000)
    args = ap.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the benchmark is about PostgreSQL)")
    name = f"sathi_bench_console_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings.from_env(database_url=db_url, redis_url=None,
                                 instance_dir=Path(tempfile.mkdtemp()))
    clock = Clock(world.NOW)
    rt = runtime.Runtime(settings, clock=clock)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        rt.db.upgrade()
        info = world.seed(rt.db, args.teachers)
        messages = seed_sms(rt.db)
        rt.db.engine.dispose()
        cal = rt.calendar
        week = cal.week_of(world.NOW)
        campaigns = figures.reflection_campaigns(rt.campaigns)
        t0 = time.perf_counter()
        with rt.db.session() as s:  # what the cron job keeps worked out
            for w in rollup.shown_weeks(cal, week):
                rollup.refresh(s, cal, w, world.NOW, campaigns)
        rolled = time.perf_counter() - t0
        print(f"seeded {args.teachers:,} teachers in {info['seconds']:.0f} s "
              f"({info['schools']:,} schools, {info['upazilas']:,} upazilas, "
              f"{info['answer']:,} answers, {messages:,} SMS); 12 weeks rolled up in "
              f"{rolled:.1f} s (untimed below)", flush=True)
        from app import create_app
        from console import auth

        with rt.db.session() as s:
            auth.add(s, "programme@example.org", "programme", PASSWORD, world.NOW)
            officer = s.execute(select(Person).where(Person.role == "officer",
                                                     Person.upazila.is_not(None))
                                .order_by(Person.id).limit(1)).scalar_one()
            auth.add(s, "uo@example.org", "officer", PASSWORD, world.NOW,
                     district=officer.district, upazila=officer.upazila)
            district, upazila = officer.district, officer.upazila
        runtime.install(rt)
        app = create_app({"TESTING": True, "SPOOL_REPLAYER": False}, rt=rt)
        programme, uo = sign_in(app, "programme@example.org"), sign_in(app, "uo@example.org")
        from urllib.parse import urlencode

        d = urlencode({"district": district, "week": week})
        u = urlencode({"district": district, "upazila": upazila, "week": week})
        base = timed(programme, "/console/people")
        pages = [
            ("dashboard, the country", programme, f"/console/dashboard?week={week}"),
            ("dashboard, a district", programme, f"/console/dashboard?{d}"),
            ("dashboard, an upazila (its officer)", uo, "/console/dashboard"),
            ("12 weeks as CSV, an upazila", programme, f"/console/dashboard.csv?{u}"),
        ]
        print(f"{'page':<38} {'median s':>9} {'÷ baseline':>10}  under {LIMIT:g} s", flush=True)
        print(f"{'baseline: people page, no search':<38} {base:>9.3f} {1:>9.1f}×", flush=True)
        worst = 0.0
        for label, client, path in pages:
            took = timed(client, path)
            worst = max(worst, took)
            print(f"{label:<38} {took:>9.3f} {took / base:>9.1f}×  "
                  f"{'yes' if took < LIMIT else 'NO'}", flush=True)
        # the rollup goes stale: a page still only reads it; the cron job works it out
        clock.now = world.NOW + rollup.FRESH_FOR + timedelta(minutes=1)
        stale = timed(uo, "/console/dashboard")
        print(f"{'the same, its figures gone stale':<38} {stale:>9.3f} {stale / base:>9.1f}×  "
              f"{'yes' if stale < LIMIT else 'NO'}", flush=True)
        worst = max(worst, stale)
        print(f"every dashboard page under {LIMIT:g} s for {args.teachers:,} teachers: "
              f"{'yes' if worst < LIMIT else 'NO'} (slowest {worst:.3f} s)", flush=True)
        from bot.digests.jobs import keep_fresh

        t0 = time.perf_counter()
        assert keep_fresh() == 1
        print(f"for the record, off any page: the cron job `dashboard-figures` (every "
              f"{KEEP_FRESH_EVERY // 60} minutes) worked this week out again in "
              f"{time.perf_counter() - t0:.1f} s; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        runtime.install(None)
        rt.close()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
