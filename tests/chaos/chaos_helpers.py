"""Helpers of the chaos tests."""
from __future__ import annotations

import time


def expire_lock_of_the_dead(rt, worker) -> None:
    """A killed worker's turn lock would expire after LOCK_TIMEOUT (a minute). Let it expire
    now, so that the test need not wait: it is the lock of the person whose job (a send, or a
    handle sending its turns' replies) RQ still lists as the dead worker's current job."""
    from rq import Worker
    from sqlalchemy import select

    from bot.store.models import Message

    for w in Worker.all(connection=rt.redis):
        if w.pid != worker.pid:
            continue
        job = w.get_current_job()
        if job is None or not job.args:
            return
        first = job.args[0]  # send([ids]) or handle(id): a message of the person either way
        with rt.db.session() as db:
            person = db.execute(select(Message.person_id).where(
                Message.id == (first[0] if isinstance(first, list) else first))).scalar()
        rt.redis.delete(f"sathi:turn:{person}")


def wait_until(predicate, timeout: float, every: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout} s waiting for {what or predicate}")
