"""Alembic's head is the schema the models describe, on SQLite and PostgreSQL alike."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store.models import Base


def test_migrations_match_the_models(rt):
    with rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_inbound_sid_is_unique_per_direction(rt):
    names = {tuple(u["column_names"]) for u in inspect(rt.db.engine).get_unique_constraints("message")}
    assert ("direction", "provider_sid") in names
