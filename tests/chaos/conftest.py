"""Chaos: the service's own processes (gunicorn, `sathi worker`) under faults a test causes on
purpose. Redis is a private redis-server on a free port that the test kills and restarts;
PostgreSQL is reached through a TCP proxy (tests/tcp_proxy.py) that the test makes refuse or
hang; Twilio is the local double. Nothing here stops, flushes or slows a shared server.

These run on PostgreSQL only (CI's second pass, `.ci/run`), each bounded to a few minutes.
"""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from processes import PrivateRedis, empty_database

from bot import runtime
from bot.runtime import Runtime, connect_redis

POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.chaos)
            if not POSTGRES:
                item.add_marker(pytest.mark.skip(reason="chaos runs on PostgreSQL (CI's "
                                                        "second pass)"))


class RealClock:
    """The wall clock, which a test may move forward (to let a lease run out)."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **kwargs) -> datetime:
        self.offset += timedelta(**kwargs)
        return self()


@pytest.fixture
def clock():
    return RealClock()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def chaos_rt(settings, private_redis, clock):
    """The service's parts in this process, on the test's database and the private Redis."""
    s = replace(settings, redis_url=private_redis.url)
    rt = Runtime(s, redis_conn=connect_redis(s.redis_url, s.instance_dir), clock=clock)
    empty_database(rt.db)
    runtime.install(rt)
    yield rt
    runtime.install(None)
    rt.close()
