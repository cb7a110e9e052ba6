"""The production app plus three endpoints for bench/throughput.py: gunicorn serves them from
the same workers as the webhook, so the webhook is measured beside the least a Flask request
costs and beside the least its own guarantees cost on this machine.

    POST /bench/trivial        reads the form and answers: no I/O
    POST /bench/floor          the webhook's least: the same signature check
                               (bot.web.verified_form), the same INSERT .. ON CONFLICT DO
                               NOTHING RETURNING into the same `message` table
                               (inbound.insert_statement), sent through psycopg alone on an
                               autocommitting connection of the thread's own, then one RPUSH of
                               the new id to a Redis list, and the same TwiML answer
    POST /bench/floor-narrow   the same, into a table with only a primary key and the unique
                               provider id (bench_inbox, which bench/throughput.py makes):
                               what a leaner table could buy

The floors keep the webhook's guarantees while storage is up (a forged request is refused,
the record is durable before the answer, a retried sid inserts nothing and queues nothing);
what they leave out is everything else the webhook does: intake's checks, the deadline and
the spool, the pool, RQ's job and the counter.

    gunicorn -c gunicorn.conf.py --pythonpath bench 'throughput_app:create_app()'
"""
from __future__ import annotations

import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import app as production  # noqa: E402
from bot.web import _twiml, verified_form  # noqa: E402

NARROW_TABLE = """CREATE TABLE IF NOT EXISTS bench_inbox (
    id bigserial PRIMARY KEY, provider_sid varchar(64) NOT NULL UNIQUE,
    address varchar(40) NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)"""
FLOOR_QUEUE = "bench:floor"  # the floors' hand-off: a Redis list of ids nobody reads


def create_app():
    flask_app = production.create_app()

    def trivial():  # reads the form, as the webhook does, and answers: no I/O
        from flask import Response

        return Response(b"%d" % len(production_form()), content_type="text/plain")

    # endpoints of the webhooks' blueprint, so they are treated as the webhook is: no session
    # opened (app.SESSIONLESS) and the same request hooks; their answers made as cheaply
    flask_app.add_url_rule("/bench/trivial", endpoint="messaging.bench_trivial",
                           view_func=trivial, methods=["POST"])
    floor = Floor(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    flask_app.add_url_rule("/bench/floor", endpoint="messaging.bench_floor",
                           view_func=floor.message_table, methods=["POST"])
    flask_app.add_url_rule("/bench/floor-narrow", endpoint="messaging.bench_floor_narrow",
                           view_func=floor.narrow_table, methods=["POST"])
    return flask_app


def production_form():
    from flask import request

    return request.form


class Floor:
    """The floors' connections (one psycopg connection a thread, one Redis client a process)
    and statements (compiled once)."""

    def __init__(self, database_url: str, redis_url: str):
        import redis
        from sqlalchemy import create_engine

        from bot.msgs import inbound
        from bot.store.db import _DriverForm
        from scratchdb import libpq_url

        self.url = libpq_url(database_url)
        dialect = create_engine(database_url).dialect
        self.insert = _DriverForm(inbound.insert_statement(dialect.name), dialect)
        self.redis = redis.Redis.from_url(redis_url)
        self.local = threading.local()

    def _pg(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            import psycopg

            conn = self.local.conn = psycopg.connect(self.url, autocommit=True)
        return conn

    def _record(self, sql: str, values) -> None:
        rows = self._pg().execute(sql, values).fetchall()
        if rows:  # a retried sid inserts nothing and queues nothing
            self.redis.rpush(FLOOR_QUEUE, rows[0][0])

    def message_table(self):
        form = verified_form()
        now = datetime.now(timezone.utc)
        self._record(self.insert.sql, self.insert.values(dict(
            channel="sms", address=form["From"], provider="twilio", sid=form["MessageSid"],
            body=form["Body"], media=None, created_at=now, updated_at=now)))
        return _twiml()

    def narrow_table(self):
        form = verified_form()
        self._record("INSERT INTO bench_inbox (provider_sid, address, body, created_at) "
                     "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                     (form["MessageSid"], form["From"], form["Body"],
                      datetime.now(timezone.utc)))
        return _twiml()
