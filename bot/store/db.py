"""Database engine, sessions and migrations.

A session can carry a deadline (`session(deadline=3.0)`): on PostgreSQL every wait for the
server inside it gives up when the deadline passes, and so does opening a connection; on SQLite
a write waits for another writer's lock no longer than the deadline. The
webhooks use it, because a database that accepts TCP and never answers would otherwise hold
the request until gunicorn kills it (and Twilio gives up after 15 s and does not retry). The
connection that timed out is closed and the pool replaces it; the caller sees an
OperationalError, which the spool-or-reject decision treats as "the database is down".

`write_once` runs one statement that is a transaction by itself (the webhook's INSERT .. ON
CONFLICT DO NOTHING RETURNING) in one round trip on PostgreSQL: an autocommit connection (no
BEGIN, no COMMIT: the statement commits as it ends, durably) from a pool of its own that does
not ping a connection before lending it. A connection the server dropped since (a restart)
fails on use; the statement is then tried once more on a new connection. The statement is
compiled once (its SQL, its constant values and its types' bind processors, as SQLAlchemy
would apply them) and then run on the pooled driver connection itself: SQLAlchemy's
per-execution machinery (execution context, result object) cost more CPU than the round trip.
Errors are SQLAlchemy's (DBAPIError and its kinds, `connection_invalidated` set), as before.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT = 2  # seconds to open a PostgreSQL connection (libpq counts whole seconds, >= 2)
HEALTH_DEADLINE = 2.0  # seconds /healthz waits for the database's schema revision
CURRENT, BEHIND, NEWER, UNKNOWN, DOWN = "current", "behind", "newer", "unknown", "down"
# (what Database.schema() says)
SQLITE_TIMEOUT = 30  # seconds a SQLite write waits for another writer's lock (no deadline)

_deadline: ContextVar[float | None] = ContextVar("sathi_db_deadline", default=None)
"""time.monotonic() by which the current session must be done, or None (no limit)."""


@contextmanager
def _within(deadline: float | None):
    """Waiting on PostgreSQL inside the block raises past `deadline` seconds from now (or an
    enclosing block's, when that comes first); no deadline: as the enclosing block has it."""
    if deadline is None:
        yield
        return
    until = time.monotonic() + deadline
    outer = _deadline.get()
    token = _deadline.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _deadline.reset(token)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, pre_ping: bool = True):
        """`pre_ping`: test each pooled connection with a round trip before lending it (the
        web process's default). A worker turns it off: its jobs are retried, so a connection
        the server dropped costs one job's retry instead of a round trip per transaction."""
        self.url = url
        # hide_parameters: an error's message never carries a row's values (a message body, a
        # phone number) into a log or a traceback
        self.sqlite = url.startswith("sqlite:///")
        if self.sqlite:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT},
                                        hide_parameters=True)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = self._server_engine(url, pool_pre_ping=pre_ping)
        self._autocommit: Engine | None = None  # write_once's, made on first use
        self._making = threading.Lock()  # ... by one thread
        self._driver_forms: dict = {}  # write_once's statements, compiled for the driver
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @staticmethod
    def _server_engine(url: str, **kwargs) -> Engine:
        engine = create_engine(url, hide_parameters=True,
                               connect_args={"connect_timeout": CONNECT_TIMEOUT}, **kwargs)
        if engine.dialect.driver == "psycopg":
            event.listen(engine, "do_connect", _connect_with_deadline)
        return engine

    def write_once(self, statement, params: dict | None = None,
                   deadline: float | None = None) -> list:
        """Run one statement that is a whole transaction by itself and return its rows: on
        PostgreSQL in one round trip (see the module's docstring), elsewhere in a transaction.
        With a `deadline` (seconds), waiting on PostgreSQL past it raises OperationalError."""
        if self.sqlite:
            with _within(deadline), self.engine.begin() as conn:
                return conn.execute(statement, params).all()
        form = self._driver_forms.get(statement)
        if form is None:
            form = self._driver_form(statement)
        with _within(deadline):
            try:
                return form.run(self._autocommit, params)
            except DBAPIError as exc:
                until = _deadline.get()
                if (not exc.connection_invalidated
                        or (until is not None and time.monotonic() >= until)):
                    raise
            return form.run(self._autocommit, params)  # once more, on a new connection

    def _driver_form(self, statement) -> "_DriverForm":
        with self._making:  # webhook threads arriving together make one engine, not one each
            if self._autocommit is None:
                # the connections only ever run write_once's single statements, which commit
                # as they end: nothing to roll back when one is returned to the pool
                self._autocommit = self._server_engine(self.url, isolation_level="AUTOCOMMIT",
                                                       pool_reset_on_return=None)
            form = self._driver_forms.get(statement)
            if form is None:
                form = self._driver_forms[statement] = _DriverForm(statement,
                                                                  self._autocommit.dialect)
            return form

    @contextmanager
    def session(self, deadline: float | None = None):
        """A unit of work: committed when the block ends, rolled back on error. With a
        `deadline` (seconds), waiting on PostgreSQL past it raises OperationalError."""
        with _within(deadline), self.sessions() as s, s.begin():
            if deadline is None or not self.sqlite:
                yield s
                return
            # SQLite: a write waits for another writer's lock at most until the deadline
            # (its busy timeout), not SQLITE_TIMEOUT; the connection's own is put back after
            raw = s.connection().connection.dbapi_connection
            raw.execute(f"PRAGMA busy_timeout = {max(int(deadline * 1000), 1)}")
            try:
                yield s
            finally:
                raw.execute(f"PRAGMA busy_timeout = {SQLITE_TIMEOUT * 1000}")

    @contextmanager
    def read(self):
        """A session for reading only. On PostgreSQL its connection autocommits, so no BEGIN
        and no COMMIT travel to the server (each statement sees what is committed when it
        runs); elsewhere it is an ordinary session. Nothing written in it is kept."""
        if self.engine.dialect.name == "sqlite":
            with self.sessions() as s:
                yield s
            return
        with self.engine.connect() as conn:
            with Session(bind=conn.execution_options(isolation_level="AUTOCOMMIT"),
                         expire_on_commit=False) as s:
                yield s

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(alembic_config(self.url), revision)

    def schema(self) -> str:
        """Where the database stands against this code's migrations, in one round trip:
        CURRENT (at the head); BEHIND (an older revision, or never migrated: `sathi db
        upgrade` has not run); NEWER (a revision this code does not know: a later release
        migrated it, as during a rolling deploy; this code still runs on it); UNKNOWN (the
        database answers, but its revision cannot be read, e.g. a role without the right to,
        or the version table holds no single revision: a human's to look at); or DOWN."""
        with _within(HEALTH_DEADLINE):  # both tries together: a hung server costs one wait
            try:
                with self.session() as s:
                    at = set(s.execute(text("SELECT version_num FROM alembic_version"))
                             .scalars())
            except DBAPIError as exc:
                if _no_such_table(exc):
                    return BEHIND  # the server answered: no version table, never migrated
                try:  # the revision unreadable, or no database at all?
                    with self.session() as s:
                        s.execute(text("SELECT 1"))
                except Exception:
                    return DOWN
                return UNKNOWN
            except Exception:
                return DOWN
        heads, known = _revisions()
        if at == heads:
            return CURRENT
        if not at or len(at) > len(heads):  # stamped by hand, or by two branches at once
            return UNKNOWN
        return BEHIND if at <= known else NEWER

    def dispose(self) -> None:
        self.engine.dispose()
        if self._autocommit is not None:
            self._autocommit.dispose()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's pooled connections without closing them
        (they are the parent's), so this process opens its own."""
        self.engine.dispose(close=False)
        self._making = threading.Lock()  # a parent's thread may have held it at the fork
        if self._autocommit is not None:
            self._autocommit.dispose(close=False)


class _DriverForm:
    """A statement compiled once for a server's driver (psycopg): its SQL, the values it holds
    itself, and the bind processors of its types, which are applied to each call's values as
    SQLAlchemy's execution would. Run on a pooled driver connection, it costs the driver's
    own work and little more. Rows come back as the driver gives them (no result types)."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.positional or compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("write_once takes a statement with named, plain parameters")
        self.sql = compiled.string
        # every parameter, with the values the statement holds itself; and those it needs
        self.defaults = compiled.construct_params(_check=False)
        self.required = frozenset(b.key for b in compiled.binds.values() if b.required)
        self.processors = dict(compiled._bind_processors)  # as SQLAlchemy's execution does
        self.dialect = dialect
        if dialect.driver == "psycopg":  # cursor.description, without making its columns
            tuples_ok = dialect.loaded_dbapi.pq.ExecStatus.TUPLES_OK
            self._returns_rows = lambda cursor: cursor.pgresult.status == tuples_ok
        else:
            self._returns_rows = lambda cursor: cursor.description is not None

    def values(self, params: dict | None) -> dict:
        params = params or {}
        if not self.required.issubset(params):
            raise InvalidRequestError("a value is required for bind parameters "
                                      f"{sorted(self.required.difference(params))}")
        values = {**self.defaults, **params}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return values

    def run(self, engine: Engine, params: dict | None) -> list:
        values = self.values(params)
        pooled = None
        try:
            pooled = engine.raw_connection()  # connecting may fail too: wrapped the same way
            cursor = pooled.dbapi_connection.cursor()
            try:
                cursor.execute(self.sql, values)
                return cursor.fetchall() if self._returns_rows(cursor) else []
            finally:
                cursor.close()
        except self.dialect.loaded_dbapi.Error as exc:
            gone = pooled is not None and self.dialect.is_disconnect(
                exc, pooled.dbapi_connection, None)
            if gone:  # as SQLAlchemy does: every connection the pool held before this one
                # is dropped too (a restart ended them all), so the retry gets a new one
                engine.pool._invalidate(pooled, exc)
            raise DBAPIError.instance(self.sql, None, exc, self.dialect.loaded_dbapi.Error,
                                      hide_parameters=True, connection_invalidated=gone,
                                      dialect=self.dialect) from exc
        finally:
            if pooled is not None:
                pooled.close()


def _no_such_table(exc: DBAPIError) -> bool:
    """The server answered that the table does not exist (PostgreSQL's SQLSTATE 42P01,
    SQLite's "no such table")."""
    orig = exc.orig
    return (getattr(orig, "sqlstate", None) == "42P01"
            or "no such table" in str(orig).lower())


_REVISIONS: tuple[frozenset, frozenset] | None = None


def _revisions() -> tuple[frozenset, frozenset]:
    """This code's migration heads and every revision it knows, read from the migrations
    folder once a process."""
    global _REVISIONS
    if _REVISIONS is None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config("sqlite://"))
        _REVISIONS = (frozenset(script.get_heads()),
                      frozenset(r.revision for r in script.walk_revisions()))
    return _REVISIONS


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


_connection_class = None


def _deadline_connection():
    """psycopg's Connection, giving up each wait for the server at the session's deadline."""
    global _connection_class
    if _connection_class is not None:
        return _connection_class
    import psycopg
    from psycopg import errors

    wait_timeout = getattr(errors, "_WaitTimeout", psycopg.OperationalError)

    class DeadlineConnection(psycopg.Connection):
        def wait(self, gen, *args, timeout: float | None = None, **kwargs):
            deadline = _deadline.get()
            if deadline is None:
                return super().wait(gen, *args, timeout=timeout, **kwargs)
            remaining = max(deadline - time.monotonic(), 0.001)
            try:
                return super().wait(gen, *args, timeout=remaining if timeout is None
                                    else min(timeout, remaining), **kwargs)
            except wait_timeout:
                if time.monotonic() < deadline:
                    raise  # the caller's own, shorter timeout
                # cut off mid-conversation: the connection cannot be used again. Closed, it
                # counts as a disconnect, so SQLAlchemy drops it from the pool.
                self.close()
                raise psycopg.OperationalError(
                    "the database did not answer before the deadline") from None

    _connection_class = DeadlineConnection
    return _connection_class


def _connect_with_deadline(dialect, conn_rec, cargs, cparams):
    """Open a connection (the `do_connect` event), refusing at once past the deadline."""
    deadline = _deadline.get()
    if deadline is not None and deadline <= time.monotonic():
        import psycopg

        raise psycopg.OperationalError("the database deadline passed before connecting")
    return _deadline_connection().connect(*cargs, **cparams)  # within CONNECT_TIMEOUT


__all__ = ["Database", "Engine", "Session", "alembic_config"]
