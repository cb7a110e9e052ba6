"""Named actions a flow can call. Each takes the context of one person's turn.

An action may return a dict of run fields it worked out (a summary, this week's activity); the
messages said after it in the same turn can name them as {placeholders}, and later turns see them
in the run's fields. Returning None changes no field.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

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
