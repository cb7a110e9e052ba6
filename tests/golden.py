"""Playing a golden transcript: the turns of a YAML script through the signed webhook, the RQ
worker and the Twilio double (or a local SMS gateway's double), with a frozen clock, each turn's
replies compared with the script's.

A turn is `send: TEXT`, `campaign: ID` (any campaign of flows/campaigns.yaml, as cron plans and
dispatches it at that moment), `cron: NAME` (one of bot/schedule.py's jobs, run once) or
`timeout: true` (the person's deadline comes and the cron sweep finds it), after moving the clock
with `at: ISO time` or `advance: {hours: 2}`. A test may add kinds of its own with `other(turn)`,
which returns True when it handled the turn (and no replies are compared for it).

SATHI_UPDATE_GOLDENS=1 rewrites the expected replies from what the service now says; read the
diff before committing it.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from bot.campaigns import fanout as campaign
from bot.msgs import inbound
from bot.store.models import FlowRun, Person

UPDATE = os.environ.get("SATHI_UPDATE_GOLDENS") == "1"


def play(path: Path, *, rt, tw, work, twilio, clock, other=None, gateway=None) -> dict:
    """Run the script at `path`; returns it (with the replies rewritten when updating). With a
    `gateway` (conftest.PhoneGateway) the person texts through that local gateway instead of
    Twilio, and the replies are what the gateway was asked to send."""
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    clock.current = datetime.fromisoformat(script["clock"])
    seen = 0
    for turn in script["turns"]:
        if other is not None and other(turn):
            continue
        if "at" in turn:
            clock.current = datetime.fromisoformat(turn["at"])
        if "advance" in turn:
            clock.advance(**turn["advance"])
        if turn.get("timeout"):
            _fire_timeout(rt, script["phone"])
        elif "cron" in turn:
            cron_jobs()[turn["cron"]]()
        elif "campaign" in turn:
            campaign.plan(rt, turn["campaign"], rt.calendar.week_of(clock()), clock())
            campaign.dispatch(rt, clock())
        elif gateway is not None:
            assert gateway.sms(script["phone"], turn["send"]).status_code == 200
        else:
            response = tw.sms(script["phone"], turn["send"], channel=script.get("channel", "sms"))
            assert response.status_code == 200
        work()
        got = ([m["text"] for m in gateway.double.sent()] if gateway is not None
               else [m["Body"] for m in twilio.messages()])[seen:]
        seen += len(got)
        if UPDATE:
            turn["replies"] = got
        else:
            assert got == turn["replies"], \
                f"turn {turn.get('send', turn.get('campaign', turn.get('cron', '(timeout)')))!r} " \
                f"at {clock()}"
    if UPDATE:
        path.write_text(yaml.safe_dump(script, allow_unicode=True, sort_keys=False, width=200),
                        encoding="utf-8")
    return script


class _Jobs:
    """Collects bot/schedule.py's jobs by name, as RQ's CronScheduler would register them."""

    def __init__(self):
        self.jobs = {}

    def register(self, func, queue_name, interval, name):
        self.jobs[name] = func


def cron_jobs() -> dict:
    from bot.schedule import register

    return register(_Jobs()).jobs


def _fire_timeout(rt, phone):
    """Move the clock to the person's deadline and let the cron sweep find it."""
    with rt.db.session() as db:
        pid = db.execute(select(Person.id).where(Person.phone == phone)).scalar_one()
        run = db.execute(select(FlowRun).where(FlowRun.person_id == pid,
                                               FlowRun.status == "active")).scalar_one()
    # a timeout is acted on inside the sending window (09:00-19:00, school days)
    rt.clock.current = rt.calendar.next_open(datetime.fromisoformat(run.session["timeout_at"]))
    assert inbound.expire_due() == 1
