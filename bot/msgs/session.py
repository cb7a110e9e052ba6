"""Flow sessions live in the FlowRun row, written in the same transaction as their messages.

DESIGN.md sketched a Redis copy with a TTL. We keep one source of truth instead: a message
reads its person's active run once, by an indexed query, and a Redis copy would only add a
second place that can disagree after a crash. Redis still serialises a person's turns (`lock`).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime

import redis
from rq import Retry
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..store.models import FlowRun

ACTIVE = "active"
LOCK_TIMEOUT = 60  # seconds a person's turn may hold the lock before it is released anyway


def active_run(db: Session, person_id: int) -> FlowRun | None:
    return db.execute(_ACTIVE_RUN, {"a_person": person_id}).scalar_one_or_none()


_ACTIVE_RUN = (select(FlowRun).where(FlowRun.person_id == bindparam("a_person"),
                                     FlowRun.status == ACTIVE)
               .order_by(FlowRun.id.desc()).limit(1))  # built once, with a bound parameter


def end(run: FlowRun, status: str, now: datetime) -> None:
    run.status, run.ended_at, run.timeout_at = status, now, None


class Busy(RuntimeError):
    """Another worker holds the person's turn; the job is retried later (BUSY_RETRY)."""


BUSY_RETRY = Retry(max=3, interval=[5, 30, 120])
"""How RQ retries a job that found the person busy (or hit a database blip); sweeps catch
whatever is still left after that."""


class Held:
    """A person's turn, held: `keep` renews it (back to LOCK_TIMEOUT) once half of that has
    gone by since it was taken or last renewed, so a job that goes on longer (twenty turns,
    then their replies, each REST call up to its timeout) does not lose the turn to its
    expiry while it still acts, letting another job act for the same person beside it.
    Raises LockNotOwnedError when the turn was lost all the same."""

    def __init__(self, lock):
        self.lock, self.since = lock, time.monotonic()

    def keep(self) -> None:
        now = time.monotonic()
        if now - self.since >= LOCK_TIMEOUT / 2:
            self.lock.reacquire()
            self.since = now


@contextmanager
def locked(r: redis.Redis, person_id: int, wait: float = LOCK_TIMEOUT):
    """One turn at a time per person, across all workers: handling, timeouts, sends and a
    call's turns. Waits at most `wait` seconds for it (a call's webhook cannot wait long).
    Yields the `Held` turn: a long holder calls its `keep` between steps."""
    lock = r.lock(f"sathi:turn:{person_id}", timeout=LOCK_TIMEOUT, blocking_timeout=wait)
    if not lock.acquire():
        raise Busy(f"person {person_id} is busy")
    try:
        yield Held(lock)
    finally:
        lock.release()
