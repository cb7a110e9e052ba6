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
WHEN_TODAY, WHEN_TOMORROW, WHEN_DAY = N_("when.today"), N_("when.tomorrow"), N_("when.day")


def snooze(ctx: Context) -> dict:
    """'Later': ask again SNOOZE from now, on the hour, inside the sending window of a school
    day. Returns {snooze_at} for the flow's wait and {when} ("today at 6 pm") for its reply."""
    from . import runtime

    rt = runtime.current()
    cal = rt.calendar
    target = ctx.now + SNOOZE
    if target.minute or target.second or target.microsecond:
        target = target.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    at = cal.next_open(target)
    local = cal.local(at)
    language = ctx.person.language
    text = rt.catalogues.text
    hour_key = next(key for limit, key in HOUR_KEYS if local.hour < limit)
    time_ = text(hour_key, language, hour=local.hour % 12 or 12)
    days = (local.date() - cal.local(ctx.now).date()).days
    if days in (0, 1):
        when = text(WHEN_TOMORROW if days else WHEN_TODAY, language, time=time_)
    else:
        when = text(WHEN_DAY, language, time=time_,
                    day=text(DAY_KEYS[local.weekday()], language))
    return {"snooze_at": at.isoformat(), "when": when}


ACTIONS["snooze"] = snooze
