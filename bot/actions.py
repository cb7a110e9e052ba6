"""Named actions a flow can call. Each takes the context of one person's turn.

An action may return a dict of run fields it worked out (a summary, this week's activity); the
messages said after it in the same turn can name them as {placeholders}, and later turns see them
in the run's fields. Returning None changes no field.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session

from .i18n import N_
from .models import FlowRun, Person


@dataclass
class Context:
    db: Session
    person: Person
    run: FlowRun | None
    now: datetime


def finish_onboarding(ctx: Context) -> None:
    """The person has heard what the service sends and how to stop it."""
    if ctx.person.onboarded_at is None:
        ctx.person.onboarded_at = ctx.now


ACTIONS: dict[str, Callable[..., dict | None]] = {
    "finish_onboarding": finish_onboarding,
}


SNOOZE = timedelta(hours=3)  # "later" asks again about this much later, inside the sending window
DAY_KEYS = {6: N_("day.sunday"), 0: N_("day.monday"), 1: N_("day.tuesday"),
            2: N_("day.wednesday"), 3: N_("day.thursday"), 4: N_("day.friday"),
            5: N_("day.saturday")}
HOUR_KEYS = ((12, N_("time.morning")), (15, N_("time.midday")), (18, N_("time.afternoon")),
             (24, N_("time.evening")))  # (before this hour, how the hour is said)


def snooze(ctx: Context) -> dict:
    """'Later': ask again SNOOZE from now, on the hour, inside the sending window of a school
    day. Returns the time as fields the messages name: {time} and, on another day, {day}."""
    from . import runtime

    rt = runtime.current()
    cal = rt.calendar
    target = ctx.now + SNOOZE
    target = target.replace(minute=0, second=0, microsecond=0) + (
        timedelta(hours=1) if target.minute or target.second else timedelta(0))
    at = cal.next_open(target)
    local = cal.local(at)
    language = ctx.person.language
    hour_key = next(key for limit, key in HOUR_KEYS if local.hour < limit)
    hour12 = local.hour % 12 or 12
    return {"snooze_at": at.isoformat(),
            "snooze_today": local.date() == cal.local(ctx.now).date(),
            "time": rt.catalogues.text(hour_key, language, hour=hour12),
            "day": rt.catalogues.text(DAY_KEYS[local.weekday()], language)}


ACTIONS["snooze"] = snooze
