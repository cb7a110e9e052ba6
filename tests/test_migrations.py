"""Alembic's head is the schema the models describe, on SQLite and PostgreSQL alike."""
import os
import uuid

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.store.db import alembic_config
from bot.store.models import Base


def test_migrations_match_the_models(rt):
    with rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_inbound_sid_is_unique_per_direction(rt):
    names = {tuple(u["column_names"]) for u in inspect(rt.db.engine).get_unique_constraints("message")}
    assert ("direction", "provider_sid") in names


def test_campaign_rows_keep_their_state_down_to_0016_and_back_at_scale(tmp_path):
    """0017 and back with many rows in: claimed rows (planned, not due) go back to "queued",
    due ones stay planned, and up again all are planned and due. On PostgreSQL with a small
    work_mem the downgrade must still be one pass (it was a scan of every due id per row: at
    2M rows, 1M of them due, it ran for more than 6 minutes)."""
    base = os.environ.get("DATABASE_URL", "")
    n = 40_000
    if base.startswith("postgresql"):
        name = f"sathi_migrate_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
            c.execute(text(f"ALTER DATABASE \"{name}\" SET work_mem = '64kB'"))
            c.execute(text(f"ALTER DATABASE \"{name}\" SET statement_timeout = '15s'"))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        numbers = f"SELECT g AS i FROM generate_series(1, {n}) g"
    else:
        admin, url = None, f"sqlite:///{tmp_path / 'migrate.db'}"
        numbers = (f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                   f"WHERE i < {n}) SELECT i FROM s")
    cfg = alembic_config(url)
    engine = create_engine(url)
    try:
        command.upgrade(cfg, "head")
        with engine.begin() as c:
            c.execute(text(f"INSERT INTO person (id, phone, name, role, language, channel, "
                           f"created_at) SELECT i, '+88017' || i, 'x', 'teacher', 'bn', 'sms', "
                           f"'2026-11-29 03:00:00' FROM ({numbers}) n"))
            c.execute(text(f"INSERT INTO campaign_run (id, campaign, week, person_id, status, "
                           f"planned_at) SELECT i, 'nudge', '2026-W49', i, CASE WHEN i % 10 = 0 "
                           f"THEN 'sent' ELSE 'planned' END, '2026-11-29 03:00:00' "
                           f"FROM ({numbers}) n"))
            c.execute(text("INSERT INTO campaign_due (run_id, campaign, week, planned_at) "
                           "SELECT id, campaign, week, planned_at FROM campaign_run "
                           "WHERE status = 'planned' AND id % 2 = 0"))  # the others claimed

        def statuses():
            with engine.connect() as c:
                return dict(c.execute(text("SELECT status, count(*) FROM campaign_run "
                                           "GROUP BY status")).all())

        command.downgrade(cfg, "0016")
        assert statuses() == {"sent": 4_000, "planned": 16_000, "queued": 20_000}
        command.upgrade(cfg, "head")
        assert statuses() == {"sent": 4_000, "planned": 36_000}
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM campaign_due")).scalar() == 36_000
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
