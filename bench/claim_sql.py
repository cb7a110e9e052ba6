"""What the database alone spends to write and to claim a week's campaign rows, statement by
statement, with no Python in between: the figures behind bot/campaigns/due.py (stop 25).

On a scratch database migrated to head, with N people (default 1,000,000), it times and
measures the WAL of, each after a CHECKPOINT:

    insert, no FK       INSERT .. SELECT of N campaign rows into a copy of campaign_run made
                        with LIKE .. INCLUDING ALL, which leaves out its foreign keys (the old
                        baseline of bench/campaign.py)
    insert              the same into a copy with campaign_run's foreign key to person (each
                        row's person is checked, as in campaign_run itself)
    insert + due        the same, and the narrow due row for each in the same statement (what
                        planning writes since stop 25)
    claim by UPDATE     planned -> queued, 5,000 rows a transaction, FOR UPDATE SKIP LOCKED
                        (dispatch before stop 25: each row and its indexes written again)
    claim by DELETE     the due rows deleted, 5,000 a transaction, FOR UPDATE SKIP LOCKED
                        (dispatch since stop 25)

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      .venv/bin/python bench/claim_sql.py [--n 1000000]

Run it on a quiet server: the WAL figures are the whole server's.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from scratchdb import ScratchDatabase  # noqa: E402

from bot.store.db import Database  # noqa: E402

INSERT = """INSERT INTO {table} (campaign, week, person_id, status, planned_at)
    SELECT 'nudge', '2026-W49', id, 'planned', '2026-11-29 03:00+00'::timestamptz
           + (row_number() OVER (ORDER BY id) - 1) * interval '36000 seconds' / count(*) OVER ()
    FROM person ON CONFLICT DO NOTHING"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a PostgreSQL server")
    scratch = ScratchDatabase(base, "sathi_claim")
    try:
        Database(scratch.url).upgrade()
        with psycopg.connect(scratch.libpq_url, autocommit=True) as conn:
            run(conn, args.n)
    finally:
        scratch.drop()


def run(conn, n: int) -> None:
    x = conn.execute

    def measured(label: str, work) -> None:
        x("CHECKPOINT")
        lsn = x("SELECT pg_current_wal_lsn()").fetchone()[0]
        t0 = time.perf_counter()
        work()
        seconds = time.perf_counter() - t0
        wal = x("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (lsn,)).fetchone()[0]
        print(f"{label:<18} {seconds:7.2f} s  {wal / 2 ** 20:6.0f} MiB WAL", flush=True)

    x("INSERT INTO school (emis, name, upazila, district) "
      "SELECT 'B' || g, 'School ' || g, 'U', 'D' FROM generate_series(1, %s) g", (-(-n // 50),))
    x("INSERT INTO person (phone, name, role, school_id, language, channel, onboarded_at, "
      "created_at) SELECT '+88017' || lpad(g::text, 8, '0'), 'Teacher ' || g, 'teacher', "
      "1 + (g - 1) / 50, 'bn', 'sms', now(), now() FROM generate_series(1, %s) g", (n,))
    x("VACUUM ANALYZE person")
    x("CREATE TABLE no_fk (LIKE campaign_run INCLUDING ALL)")
    x("CREATE TABLE with_fk (LIKE campaign_run INCLUDING ALL)")
    x("ALTER TABLE with_fk ADD FOREIGN KEY (person_id) REFERENCES person (id)")
    x("CREATE TABLE old_run (LIKE campaign_run INCLUDING ALL)")  # with the old status index
    x("ALTER TABLE old_run ADD FOREIGN KEY (person_id) REFERENCES person (id)")
    x("CREATE INDEX ON old_run (status, planned_at, id)")
    print(f"{n:,} campaign rows, PostgreSQL "
          f"{x('SHOW server_version').fetchone()[0]}", flush=True)
    measured("insert, no FK", lambda: x(INSERT.format(table="no_fk")))
    measured("insert", lambda: x(INSERT.format(table="with_fk")))

    def with_due():
        x(f"""WITH inserted AS ({INSERT.format(table="campaign_run")}
                  RETURNING id, campaign, week, planned_at)
              INSERT INTO campaign_due (run_id, campaign, week, planned_at)
              SELECT id, campaign, week, planned_at FROM inserted""")
    measured("insert + due", with_due)
    x(INSERT.format(table="old_run"))
    x("VACUUM ANALYZE old_run")
    x("VACUUM ANALYZE campaign_due")

    def claims(sql: str):
        def work():
            while x(sql).fetchone()[0]:
                pass
        return work

    measured("claim by UPDATE", claims("""
        WITH claimed AS (
            UPDATE old_run SET status = 'queued', claimed_at = now()
            WHERE id = ANY(ARRAY(
                SELECT id FROM old_run WHERE status = 'planned' AND planned_at <= 'infinity'
                ORDER BY planned_at, id LIMIT 5000 FOR UPDATE SKIP LOCKED))
              AND status = 'planned' RETURNING id)
        SELECT count(*) FROM claimed"""))
    measured("claim by DELETE", claims("""
        WITH claimed AS (
            DELETE FROM campaign_due
            WHERE run_id = ANY(ARRAY(
                SELECT run_id FROM campaign_due WHERE planned_at <= 'infinity'
                ORDER BY planned_at, run_id LIMIT 5000 FOR UPDATE SKIP LOCKED))
            RETURNING run_id)
        SELECT count(*) FROM claimed"""))


if __name__ == "__main__":
    main()
