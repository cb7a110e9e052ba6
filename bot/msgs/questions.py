"""Questions teachers ask in their own words: kept, then forwarded in the headteacher's summary.

The weekly headteacher summary (voice or digest) calls `take_for_summary(db, school_id, now)`:
it returns the school's questions not yet forwarded, oldest first, and marks them forwarded in
the caller's transaction, so a summary that fails to commit forwards nothing and the next one
carries them again.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Message, Person, Question


def store(db: Session, person: Person, message: Message | None, text: str, intent: str,
          confidence: float, now: datetime) -> Question:
    q = Question(person_id=person.id, message_id=message.id if message else None, text=text,
                 intent=intent, confidence=round(float(confidence), 4), created_at=now)
    db.add(q)
    db.flush()
    return q


def unforwarded(db: Session, school_id: int) -> list[Question]:
    """The school's questions (from any of its people) not yet in a summary, oldest first. A
    person who has opted out is not quoted, nor named, to their headteacher."""
    return list(db.execute(
        select(Question).join(Person, Person.id == Question.person_id)
        .where(Person.school_id == school_id, Question.forwarded_at.is_(None),
               Person.opted_out_at.is_(None))
        .order_by(Question.created_at, Question.id)).scalars())


def mark_forwarded(db: Session, questions: list[Question], now: datetime) -> None:
    for q in questions:
        q.forwarded_at = now


def take_for_summary(db: Session, school_id: int, now: datetime) -> list[Question]:
    """`unforwarded` and `mark_forwarded` in one step, for the headteacher's summary."""
    questions = unforwarded(db, school_id)
    mark_forwarded(db, questions, now)
    return questions
