"""A benchmark's own database on the PostgreSQL server DATABASE_URL names: made for one run,
dropped after it (WITH (FORCE): a process the run left behind does not keep it alive)."""
from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def libpq_url(url: str) -> str:
    """The same database as libpq (psycopg.connect) takes it, for a bench that times the
    driver alone."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ScratchDatabase:
    def __init__(self, base_url: str, prefix: str):
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self._admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(base_url).set(database=self.name).render_as_string(
            hide_password=False)
        self.libpq_url = libpq_url(self.url)

    def drop(self) -> None:
        with self._admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()
