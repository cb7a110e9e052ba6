"""One week's officers' digests for many teachers, on PostgreSQL.

For each size (default 100,000 then 1,000,000 teachers; 50 per school, 40 schools per upazila,
8 upazilas per district: 20,000 schools, 500 upazilas and 63 districts at 1M) it seeds, with
set-based SQL (generate_series), what three school weeks of the weekly cycle leave behind:
onboarded teachers (some joining or stopping this week), a headteacher per school, an officer
and an ambassador per upazila and an officer per district; the nudge, reminder and reflection
campaign rows and their flow runs for 2026-W47..W49; the reflections' answers (tried, obstacle,
share); headteachers' check-ins; and a month of assessments. Then it times, on Thursday
3 December 2026 at 17:00, what the service does for the week's digests:

    figures   bring the weekly rollup up to date (rollup.ensure_fresh) for every week the
              digests read: this week is worked out (last week was finalised by the nightly
              `finalise-figures` job on Monday, timed on its own line; older weeks by the
              earlier weeks' digests, untimed);
    digests   write every upazila officer's and ambassador's digest on their channel (SMS,
              WhatsApp) through the preparation's own code (digest.officer), one person at a
              time in a transaction of their own, as the campaign's deliver jobs do.

The baseline, measured in the same run on the same rows, is one plain count of this week's
reflection answers per upazila (`SELECT s.upazila, count(*) FROM answer a JOIN campaign_run c
.. JOIN person p .. JOIN school s .. WHERE c.week = .. GROUP BY s.upazila`): the least the
database can do to read the rows the digests count and group them as they do. The plainer count
of the teachers per upazila is printed too, with the ratio to it. Memory is the peak of Python
allocations (tracemalloc) during figures + digests, measured on a second identical pass so that
tracemalloc does not slow the timed one: flat means the 1M run peaks about where the 100k run
does. The district officers' monthly roll-ups are timed too, on their own line.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    .venv/bin/python bench/digest.py [--sizes 100000 1000000]

It makes and drops its own database. No Redis is needed.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.assessment.levels import scale  # noqa: E402
from bot.campaigns.calendar import load as load_calendar  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.digests import area as areas  # noqa: E402
from bot.digests import digest, rollup  # noqa: E402
from bot.i18n import catalogues  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.models import Person  # noqa: E402

PER_SCHOOL = 50  # teachers per school: 1,000,000 teachers in 20,000 schools
PER_UPAZILA = 40  # schools per upazila: 500 upazilas at 1M
PER_DISTRICT = 8  # upazilas per district: 63 districts at 1M
DHAKA = timezone(timedelta(hours=6))
NOW = datetime(2026, 12, 3, 17, 0, tzinfo=DHAKA)  # Thursday: 2026-W49's digests
WEEKS = ("2026-W47", "2026-W48", "2026-W49")
EARLIER = ("2026-W44", "2026-W45", "2026-W46", "2026-W47")  # refreshed by earlier digests
LAST_THURSDAY = datetime(2026, 11, 26, 17, 0, tzinfo=DHAKA)  # 2026-W48's digests
MONDAY_NIGHT = datetime(2026, 11, 30, 1, 0, tzinfo=DHAKA)  # the nightly job finalises W48
REFLECTIONS = ("reflection",)  # the campaigns that start the reflection flow
THURSDAY = {"2026-W47": "2026-11-19", "2026-W48": "2026-11-26", "2026-W49": "2026-12-03"}


def seed(db: Database, n: int) -> dict:
    schools = -(-n // PER_SCHOOL)
    upazilas = -(-schools // PER_UPAZILA)
    t0 = time.perf_counter()
    with db.engine.begin() as c:
        c.execute(text("""TRUNCATE figure, area_figure, figure_refresh, recognition, checkin,
            question, assessment_result, assessment, answer, campaign_run, cycle, flow_run, message,
            person, school RESTART IDENTITY CASCADE"""))
        c.execute(text("""
            INSERT INTO school (emis, name, upazila, district)
            SELECT '9' || lpad(g::text, 7, '0'), 'School ' || g || ' Government Primary School',
                   'Upazila ' || ((g - 1) / :pu), 'District ' || ((g - 1) / :pu / :pd)
            FROM generate_series(1, :schools) g"""),
                  {"schools": schools, "pu": PER_UPAZILA, "pd": PER_DISTRICT})
        # teachers: 2% joined this week, 1% stopped this week; the rest since October
        c.execute(text("""
            INSERT INTO person (phone, name, role, school_id, upazila, district, language,
                                channel, onboarded_at, opted_out_at, created_at)
            SELECT '+88017' || lpad(g::text, 8, '0'), 'Teacher ' || g, 'teacher', s.id,
                   s.upazila, s.district, 'bn', 'sms',
                   CASE WHEN g % 50 = 7 THEN :now - interval '2 days'
                        ELSE timestamptz '2026-10-01 10:00+06' END,
                   CASE WHEN g % 100 = 3 THEN :now - interval '1 day' END, :now
            FROM generate_series(1, :n) g JOIN school s ON s.id = 1 + (g - 1) / :per"""),
                  {"n": n, "per": PER_SCHOOL, "now": NOW})
        c.execute(text("""
            INSERT INTO person (phone, name, role, school_id, upazila, district, language,
                                channel, onboarded_at, created_at)
            SELECT '+88018' || lpad(s.id::text, 8, '0'), 'Head ' || s.id, 'headteacher', s.id,
                   s.upazila, s.district, 'bn',
                   CASE WHEN s.id % 3 = 0 THEN 'sms' ELSE 'voice' END, :now, :now
            FROM school s"""), {"now": NOW})
        c.execute(text("""
            INSERT INTO person (phone, name, role, upazila, district, language, channel,
                                onboarded_at, created_at)
            SELECT '+88019' || lpad((2 * u + r)::text, 8, '0'),
                   CASE r WHEN 0 THEN 'Officer ' ELSE 'Ambassador ' END || u,
                   CASE r WHEN 0 THEN 'officer' ELSE 'ambassador' END,
                   'Upazila ' || u, 'District ' || (u / :pd), 'bn',
                   CASE r WHEN 0 THEN 'sms' ELSE 'whatsapp' END, :now, :now
            FROM generate_series(0, :u - 1) u, generate_series(0, 1) r"""),
                  {"u": upazilas, "pd": PER_DISTRICT, "now": NOW})
        c.execute(text("""
            INSERT INTO person (phone, name, role, district, language, channel, onboarded_at,
                                created_at)
            SELECT '+88016' || lpad(d::text, 8, '0'), 'District officer ' || d, 'officer',
                   'District ' || d, 'bn', 'sms', :now, :now
            FROM generate_series(0, (:u - 1) / :pd) d"""),
                  {"u": upazilas, "pd": PER_DISTRICT, "now": NOW})
        # three campaigns a week, each with its flow run, for every teacher onboarded before
        for week in WEEKS:
            for campaign, flow, hour in (("nudge", "weekly_nudge", -96),
                                         ("reminder", "weekly_reminder", -48),
                                         ("reflection", "reflection", 0)):
                at = f"timestamptz '{THURSDAY[week]} 14:00+06' + interval '{hour} hours'"
                c.execute(text(f"""
                    WITH runs AS (
                        INSERT INTO flow_run (person_id, flow, status, session, started_at)
                        SELECT id, :flow, 'completed', '{{}}', {at} FROM person
                        WHERE role = 'teacher' AND onboarded_at < {at}
                        ORDER BY id RETURNING id, person_id)
                    INSERT INTO campaign_run (campaign, week, person_id, status, planned_at,
                                              flow_run_id, done_at)
                    SELECT :campaign, :week, person_id, 'sent', {at}, id, {at} FROM runs"""),
                          {"flow": flow, "campaign": campaign, "week": week})
        # reflections: 70% answer; of them half tried (yes/partly), the rest name an obstacle;
        # a third will share it at the meeting; one in ten changed their first answer
        c.execute(text("""
            INSERT INTO answer (run_id, field, value, created_at)
            SELECT r.id, 'tried', CASE WHEN r.id % 20 < 7 THEN 'yes'
                                       WHEN r.id % 20 < 10 THEN 'partly' ELSE 'no' END,
                   r.started_at + interval '1 hour'
            FROM flow_run r WHERE r.flow = 'reflection' AND r.id % 10 < 7"""))
        c.execute(text("""
            INSERT INTO answer (run_id, field, value, created_at)
            SELECT r.id, 'tried', 'yes', r.started_at + interval '2 hours'
            FROM flow_run r WHERE r.flow = 'reflection' AND r.id % 10 = 1 AND r.id % 20 >= 10"""))
        c.execute(text("""
            INSERT INTO answer (run_id, field, value, created_at)
            SELECT r.id, 'obstacle', (ARRAY['time', 'materials', 'understanding', 'other'])
                                     [1 + r.id % 4], r.started_at + interval '1 hour'
            FROM flow_run r WHERE r.flow = 'reflection' AND r.id % 10 < 7
                                  AND r.id % 20 >= 10"""))
        c.execute(text("""
            INSERT INTO answer (run_id, field, value, created_at)
            SELECT r.id, 'share', CASE WHEN r.id % 3 = 0 THEN 'yes' ELSE 'no' END,
                   r.started_at + interval '1 hour'
            FROM flow_run r WHERE r.flow = 'reflection' AND r.id % 10 < 7 AND r.id % 20 < 10"""))
        # check-ins: two schools in three had a meeting, the others did not answer
        c.execute(text("""
            INSERT INTO checkin (school_id, week, person_id, channel, meeting, practised, walks,
                                 foundation_lessons, created_at, updated_at)
            SELECT p.school_id, w.week, p.id, 'voice', true, p.school_id % 2 = 0, 1, 2,
                   :now, :now
            FROM person p, unnest(CAST(:weeks AS text[])) AS w(week)
            WHERE p.role = 'headteacher' AND p.school_id % 3 <> 0"""),
                  {"weeks": list(WEEKS), "now": NOW})
        # assessments: a quarter of the teachers, in November (W47, W48) and this week
        c.execute(text("""
            INSERT INTO assessment (person_id, school_id, upazila, district, grade, channel,
                                    taken_at)
            SELECT p.id, p.school_id, p.upazila, p.district, 1, 'sms',
                   CASE WHEN p.id / 4 % 2 = 0 THEN timestamptz '2026-11-24 11:00+06'
                        ELSE timestamptz '2026-12-01 11:00+06' END
            FROM person p WHERE p.role = 'teacher' AND p.id % 4 = 0"""))
        c.execute(text("""
            INSERT INTO assessment_result (assessment_id, slot, level)
            SELECT a.id, s, (a.id + s) % 5 FROM assessment a, generate_series(1, 5) s"""))
        c.execute(text("ANALYZE"))
    with db.engine.connect() as c:
        counts = dict(c.execute(text("""
            SELECT 'campaign_run', count(*) FROM campaign_run UNION ALL
            SELECT 'answer', count(*) FROM answer UNION ALL
            SELECT 'assessment_result', count(*) FROM assessment_result""")).all())
    return {"seconds": time.perf_counter() - t0, "schools": schools, "upazilas": upazilas,
            **counts}


BASELINES = {
    # the rows the digests count: the week's reflection answers, per upazila
    "answers": """SELECT s.upazila, count(*) FROM answer a
                  JOIN campaign_run c ON c.flow_run_id = a.run_id
                  JOIN person p ON p.id = c.person_id JOIN school s ON s.id = p.school_id
                  WHERE c.campaign = 'reflection' AND c.week = :week GROUP BY s.upazila""",
    # the teachers themselves, per upazila
    "teachers": """SELECT s.upazila, count(*) FROM person p JOIN school s ON s.id = p.school_id
                   WHERE p.role = 'teacher' GROUP BY s.upazila""",
}


def baseline(db: Database, sql: str, week: str) -> float:
    """One plain SELECT count(*) .. GROUP BY upazila: the least the database can do to read the
    rows and group them as the digests do."""
    t0 = time.perf_counter()
    with db.engine.connect() as c:
        rows = c.execute(text(sql), {"week": week}).all()
    assert rows
    return time.perf_counter() - t0


def run(db: Database, tools: digest.Tools, n: int) -> dict:
    info = seed(db, n)
    # fresh connections: a pooled one remembers the refresh times it saw (rollup.ensure_fresh),
    # and the seeding has just emptied the table, which the service itself never does
    db.engine.dispose()
    cal = tools.calendar
    with db.session() as s:  # the weeks earlier digests kept up to date, untimed
        for week in EARLIER:
            rollup.refresh(s, cal, week, NOW, REFLECTIONS)
        rollup.refresh(s, cal, "2026-W48", LAST_THURSDAY, REFLECTIONS)  # before it was final
    t0 = time.perf_counter()
    with db.session() as s:  # what `finalise-figures` does on Monday night
        assert rollup.ensure_fresh(s, cal, ["2026-W48"], MONDAY_NIGHT, REFLECTIONS) == 1
    nightly = time.perf_counter() - t0
    week = cal.week_of(NOW)
    base = {k: min(baseline(db, sql, week) for _ in range(3)) for k, sql in BASELINES.items()}
    with db.session() as s:
        people = [p for p, in s.execute(select(Person.id).where(
            Person.role.in_(("officer", "ambassador")), Person.upazila.is_not(None))
            .order_by(Person.id))]
        districts = [p for p, in s.execute(select(Person.id).where(
            Person.role == "officer", Person.upazila.is_(None)).order_by(Person.id))]
    def figures():  # every week an upazila's digest reads; only this one is stale
        with db.session() as s:
            every = sorted({w for ws in areas.weeks_needed(cal, week).values() for w in ws})
            return rollup.ensure_fresh(s, cal, every, NOW, REFLECTIONS)

    def digests():
        for pid in people:
            with db.session() as s:
                person = s.get(Person, pid)
                digest.officer(s, tools, person, week, NOW, person.channel)

    t0 = time.perf_counter()
    refreshed = figures()
    t1 = time.perf_counter()
    digests()
    t2 = time.perf_counter()
    # peak memory on a second, identical pass (tracemalloc slows every allocation, so it is
    # not on while timing): the week worked out again, then every digest
    tracemalloc.start()
    with db.session() as s:
        rollup.refresh(s, cal, week, NOW, REFLECTIONS)
    digests()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t3 = time.perf_counter()
    for pid in districts:
        with db.session() as s:
            digest.officer(s, tools, s.get(Person, pid), week, NOW, "sms", month="2026-11")
    t4 = time.perf_counter()
    assert refreshed == 1, refreshed
    return {"n": n, **info, "baseline": base["answers"], "teachers_s": base["teachers"],
            "figures": t1 - t0, "digests": t2 - t1,
            "people": len(people), "districts": len(districts), "district_s": t4 - t3,
            "nightly": nightly,
            "peak_mib": peak / 2 ** 20}


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
    settings = Settings.from_env(database_url=db_url, instance_dir=Path(tempfile.mkdtemp()))
    tools = digest.Tools(
        catalogues=catalogues(str(settings.locales_dir)),
        calendar=load_calendar(str(settings.holidays_file), settings.tz, settings.send_window),
        levels=scale(str(settings.flows_dir)), reflections=REFLECTIONS)
    db = Database(db_url)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        db.upgrade()
        print(f"{'teachers':>10} {'baseline s':>10} {'figures s':>9} {'digests s':>9} "
              f"{'total ÷ baseline':>16} {'people':>7} {'ms/person':>9} {'peak MiB':>9} "
              f"{'÷ teachers':>10}", flush=True)
        results = []
        for n in args.sizes:
            r = run(db, tools, n)
            results.append(r)
            total = r["figures"] + r["digests"]
            print(f"{n:>10,} {r['baseline']:>10.2f} {r['figures']:>9.2f} {r['digests']:>9.2f} "
                  f"{total / r['baseline']:>15.1f}× {r['people']:>7,} "
                  f"{1000 * r['digests'] / r['people']:>9.1f} {r['peak_mib']:>9.1f} "
                  f"{total / r['teachers_s']:>9.1f}×", flush=True)
            print(f"           seeded in {r['seconds']:.0f} s: {r['schools']:,} schools, "
                  f"{r['upazilas']:,} upazilas, {r['campaign_run']:,} campaign rows, "
                  f"{r['answer']:,} answers, {r['assessment_result']:,} learner results; "
                  f"last week finalised (nightly) in {r['nightly']:.2f} s; "
                  f"{r['districts']} district roll-ups in {r['district_s']:.2f} s; the teachers "
                  f"per upazila counted in {r['teachers_s']:.2f} s; "
                  f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        if len(results) > 1:
            a, b = results[0], results[-1]
            print(f"memory {b['n'] // a['n']}× the teachers: "
                  f"peak {b['peak_mib'] / a['peak_mib']:.2f}× "
                  f"({a['peak_mib']:.1f} → {b['peak_mib']:.1f} MiB); process max RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        db.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
