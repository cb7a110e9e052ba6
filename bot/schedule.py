"""Periodic jobs, registered with RQ's CronScheduler (`sathi cron`, started by `sathi serve`).

Each job must be safe to run twice, because two schedulers may be up during a deploy: the
campaign jobs plan and claim rows in the database, so a second run finds nothing to do.
"""
from __future__ import annotations

from rq.cron import CronScheduler

from .campaigns import fanout as campaign
from .digests import jobs as digests
from .msgs import inbound, outbox, spool

SWEEP_EVERY = 60  # seconds between sweeps for recorded-but-unqueued inbound messages
REPLAY_EVERY = 30  # seconds between tries to replay messages spooled while the database was down
EXPIRE_EVERY = 60  # seconds between looks for flow waits that have run out


def register(scheduler: CronScheduler) -> CronScheduler:
    scheduler.register(inbound.sweep, queue_name="default", interval=SWEEP_EVERY,
                       name="sweep-inbound")
    scheduler.register(outbox.sweep, queue_name="default", interval=SWEEP_EVERY,
                       name="sweep-outbound")
    scheduler.register(spool.replay, queue_name="default", interval=REPLAY_EVERY,
                       name="replay-spool")
    scheduler.register(inbound.expire_due, queue_name="default", interval=EXPIRE_EVERY,
                       name="expire-waits")
    scheduler.register(campaign.plan_due, queue_name="default", interval=campaign.PLAN_EVERY,
                       name="plan-campaigns")
    scheduler.register(campaign.dispatch, queue_name="default", interval=campaign.DISPATCH_EVERY,
                       name="dispatch-campaigns")
    scheduler.register(digests.congratulate, queue_name="default",
                       interval=digests.CONGRATULATE_EVERY, name="congratulate")
    scheduler.register(digests.finalise, queue_name="default",
                       interval=digests.FINALISE_EVERY, name="finalise-figures")
    return scheduler
