"""Periodic jobs, registered with RQ's CronScheduler (`sathi cron`, started by `sathi serve`).

Each job must be safe to run twice, because two schedulers may be up during a deploy: the
campaign jobs plan and claim rows in the database, so a second run finds nothing to do.

The spool is not replayed here: it lives on a web host's disk and RQ may run the job on any
machine. Each web process replays its own (bot/msgs/spool.py, `Replayer`).
"""
from __future__ import annotations

from rq.cron import CronScheduler

from ivr import dialer

from .campaigns import fanout as campaign
from .digests import jobs as digests
from .msgs import inbound, outbox

SWEEP_EVERY = 60  # seconds between sweeps for recorded-but-unqueued inbound messages
EXPIRE_EVERY = 60  # seconds between looks for flow waits that have run out


def register(scheduler: CronScheduler) -> CronScheduler:
    scheduler.register(inbound.sweep, queue_name="default", interval=SWEEP_EVERY,
                       name="sweep-inbound")
    scheduler.register(outbox.sweep, queue_name="default", interval=SWEEP_EVERY,
                       name="sweep-outbound")
    scheduler.register(inbound.expire_due, queue_name="default", interval=EXPIRE_EVERY,
                       name="expire-waits")
    scheduler.register(campaign.plan_due, queue_name="default", interval=campaign.PLAN_EVERY,
                       name="plan-campaigns")
    scheduler.register(campaign.dispatch, queue_name="default", interval=campaign.DISPATCH_EVERY,
                       name="dispatch-campaigns")
    scheduler.register(dialer.dispatch, queue_name="default", interval=dialer.DIAL_EVERY,
                       name="dial-calls")
    scheduler.register(dialer.sweep, queue_name="default", interval=dialer.SWEEP_EVERY,
                       name="sweep-calls")
    scheduler.register(digests.congratulate, queue_name="default",
                       interval=digests.CONGRATULATE_EVERY, name="congratulate")
    scheduler.register(digests.finalise, queue_name="default",
                       interval=digests.FINALISE_EVERY, name="finalise-figures")
    scheduler.register(digests.keep_fresh, queue_name="default",
                       interval=digests.KEEP_FRESH_EVERY, name="dashboard-figures")
    return scheduler
