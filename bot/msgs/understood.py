"""What the NLU understood of each inbound message in words, kept for the review loop.

The turn (turn.py) records one `Understood` row per message it sent to the NLU, in its own
transaction. `sathi nlu review` lists the unsure ones (no intent, or an intent less than
defaults.REVIEW_UNSURE_MARGIN above its bar), newest first, with phone numbers masked, so that
programme staff can label them; `sathi nlu review --label FILE` adds the labels to the training
data (bot/nlu/labels.py) and marks the rows reviewed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..logs import mask_numbers
from ..nlu import defaults
from ..nlu.client import Understanding, bar
from ..store.models import Message, Understood

def record(db: Session, message: Message, heard: Understanding, now: datetime) -> Understood:
    ranking = list(heard.ranking) or [(heard.guess, heard.confidence)]
    second = ranking[1] if len(ranking) > 1 else (None, None)
    row = Understood(message_id=message.id, backend=heard.backend, intent=heard.intent,
                     guess=heard.guess, confidence=round(float(heard.confidence), 4),
                     runner_up=second[0],
                     runner_up_confidence=None if second[1] is None else round(float(second[1]), 4),
                     bar=bar(heard.guess, heard.backend), created_at=now)
    db.add(row)  # written with the turn's next flush (one unit of work, not one more)
    return row


@dataclass(frozen=True)
class Unsure:
    id: int
    at: datetime
    text: str  # phone numbers masked
    backend: str
    intent: str | None
    guess: str | None
    confidence: float
    runner_up: str | None
    runner_up_confidence: float | None


def unsure(db: Session, since: datetime | None = None,
           limit: int = defaults.REVIEW_LIMIT) -> list[Unsure]:
    """Messages the NLU abstained on or was unsure of, not yet reviewed, newest first."""
    q = (select(Understood, Message.body).join(Message, Message.id == Understood.message_id)
         .where(Understood.reviewed_at.is_(None),
                or_(Understood.intent.is_(None),
                    Understood.confidence < Understood.bar + defaults.REVIEW_UNSURE_MARGIN))
         .order_by(Understood.created_at.desc(), Understood.id.desc()).limit(limit))
    if since is not None:
        q = q.where(Understood.created_at >= since)
    return [Unsure(u.id, u.created_at, mask_numbers(body), u.backend, u.intent, u.guess,
                   u.confidence, u.runner_up, u.runner_up_confidence)
            for u, body in db.execute(q).all()]


def mark_reviewed(db: Session, ids: list[int], now: datetime) -> int:
    rows = db.execute(select(Understood).where(Understood.id.in_(ids))).scalars().all() \
        if ids else []
    for row in rows:
        row.reviewed_at = now
    return len(rows)
