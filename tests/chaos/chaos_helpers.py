"""Helpers of the chaos tests."""
from __future__ import annotations

import threading
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


def kill_while_held(rt, name: str, env: dict, hook) -> None:
    """Start a `sathi worker` and kill -9 it while the provider's double holds back its answer
    to a message it has taken (so the dead worker never learns how that send went), then let
    the dead worker's turn lock go. `hook(stall)` installs the double's callback, which calls
    `stall()` once the message to die on has been taken."""
    from processes import sathi_worker

    held, release = threading.Event(), threading.Event()

    def stall() -> None:
        held.set()
        release.wait(30)

    hook(stall)
    worker = sathi_worker(rt.settings, rt.redis, name=name, **env)
    try:
        assert held.wait(180), worker.output()[-3000:]
        worker.kill9()
    finally:
        release.set()
        worker.stop()
    expire_lock_of_the_dead(rt, worker)


def take_over_in_burst(rt, name: str, env: dict) -> None:
    """A second `sathi worker --burst` does what the dead one left in the queues, and ends."""
    from processes import sathi_worker

    worker = sathi_worker(rt.settings, rt.redis, name=name, burst=True, **env)
    try:
        assert worker.wait(timeout=300) == 0, worker.output()[-3000:]
    finally:
        worker.stop()


def wait_until(predicate, timeout: float, every: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout} s waiting for {what or predicate}")
