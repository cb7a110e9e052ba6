"""The benchmarks' Redis connection: always the numbered db a benchmark asks for.

`redis.Redis.from_url(url, db=N)` is not that: a db in the URL (redis://host:6379/0) wins over
the keyword, and a benchmark then flushes db 0, which is someone else's. As tests/conftest.py
does, the db is set on the pool after the URL is read.
"""
from __future__ import annotations

import redis


def redis_db(url: str, db: int) -> redis.Redis:
    pool = redis.ConnectionPool.from_url(url)
    pool.connection_kwargs["db"] = int(db)
    return redis.Redis(connection_pool=pool)
