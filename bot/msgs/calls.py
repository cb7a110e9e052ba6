"""Calls owed: one `call` row per call a person is to get (a campaign's, a call back).

Campaigns and the missed-call webhook only write the row, in their own transaction; the dialer
(ivr/dialer.py) places it when it is due, inside the sending window for campaign calls, at one
call rate per caller number, and tries it again on the retry schedule until it reaches the
person. Like queue_text for messages, this is the one place such a row is made.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..store.models import Call, Person

CAMPAIGN, CALLBACK, MISSED = "campaign", "callback", "missed"  # what a call is for
DONE = ("completed", "unreached", "failed", "cancelled")  # a call nothing more happens to


def queue_call(db: Session, *, person: Person, purpose: str, flow: str, now: datetime,
               due: datetime | None = None, campaign_run_id: int | None = None) -> Call:
    call = Call(direction="out", purpose=purpose, person_id=person.id, address=person.phone,
                flow=flow, campaign_run_id=campaign_run_id, status="queued", attempts=0,
                api_errors=0, next_attempt_at=due or now, step=0, silences=0, created_at=now,
                updated_at=now)
    db.add(call)
    db.flush()
    return call
