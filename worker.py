"""Start an RQ worker (with RQ's scheduler for delayed jobs) on the project's queues."""
from __future__ import annotations

from rq import Worker

from bot import logs, runtime


def run(burst: bool = False) -> bool:
    logs.setup()
    rt = runtime.current()
    from bot.nlu import embedded, obstacles

    embedded.load()  # trained once here, inherited by every forked job instead of per message
    obstacles.load()
    worker = Worker([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
    return worker.work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    run()
