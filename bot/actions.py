"""Named actions a flow can call. Each takes the context of one person's turn."""
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


ACTIONS: dict[str, Callable[..., None]] = {
    "finish_onboarding": finish_onboarding,
}
