"""Saved assessments: saving one, what changed since the last, aggregates, and the CSV export.

Aggregates count every result taken in the period asked for (all time by default), per school and
per upazila, for the headteacher's and the officer's digests. No phone number and no person's
name leaves this module: the export names schools, places, dates, slots and levels only.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..store.models import Assessment, AssessmentResult, Person

EXPORT_COLUMNS = ("assessment", "teacher", "school_emis", "school_name", "upazila", "district",
                  "grade", "date", "slot", "level")
"""One CSV row per learner result. `teacher` is the internal person number, never a phone or
name; `date` is the local day (the settings' time zone) the assessment was saved."""


def save(db: Session, person: Person, levels: Iterable[int], grade: int | None, channel: str,
         now: datetime) -> Assessment:
    """Store an assessment and its results in the caller's transaction."""
    school = person.school
    a = Assessment(person_id=person.id, school_id=school.id if school else None,
                   upazila=school.upazila if school else person.upazila,
                   district=school.district if school else person.district,
                   grade=grade, channel=channel, taken_at=now,
                   results=[AssessmentResult(slot=i, level=int(v))
                            for i, v in enumerate(levels, 1)])
    db.add(a)
    db.flush()
    return a


def previous(db: Session, a: Assessment) -> Assessment | None:
    """The same teacher's assessment before `a`, of the same grade when a grade was given."""
    q = select(Assessment).where(Assessment.person_id == a.person_id, Assessment.id != a.id,
                                 Assessment.taken_at <= a.taken_at)
    if a.grade is not None:
        q = q.where(Assessment.grade == a.grade)
    return db.execute(q.order_by(Assessment.taken_at.desc(), Assessment.id.desc())
                      .limit(1)).scalar_one_or_none()


def levels_of(a: Assessment) -> list[int]:
    return [r.level for r in sorted(a.results, key=lambda r: r.slot)]


@dataclass(frozen=True)
class Change:
    up: int  # learners (by slot) at a higher level than last time
    same: int
    down: int


def change(before: list[int], after: list[int]) -> Change:
    """Slot by slot: the teacher assesses the same five learners in the same order each time."""
    pairs = list(zip(before, after))
    return Change(up=sum(b < a for b, a in pairs), same=sum(b == a for b, a in pairs),
                  down=sum(b > a for b, a in pairs))


def counts(levels: Iterable[int]) -> Counter:
    return Counter(int(v) for v in levels)


def focus(levels: Iterable[int]) -> int:
    """The level most learners are at; on a tie the lower level, where help is needed first."""
    c = counts(levels)
    return min(c, key=lambda lv: (-c[lv], lv))


@dataclass
class Aggregate:
    """Results of one school or one upazila in a period."""

    key: tuple  # (school emis, school name) or (district, upazila)
    levels: Counter = field(default_factory=Counter)  # level -> learners
    teachers: set = field(default_factory=set)  # person ids of teachers who assessed
    assessments: int = 0
    latest: datetime | None = None

    @property
    def teacher_count(self) -> int:
        return len(self.teachers)

    def add(self, a: Assessment) -> None:
        self.levels.update(r.level for r in a.results)
        self.teachers.add(a.person_id)
        self.assessments += 1
        self.latest = a.taken_at if self.latest is None else max(self.latest, a.taken_at)


def _assessments(db: Session, upazila: str | None = None, since: datetime | None = None,
                 school_id: int | None = None) -> list[Assessment]:
    q = select(Assessment).options(selectinload(Assessment.results),
                                   selectinload(Assessment.school))
    if upazila is not None:
        q = q.where(Assessment.upazila == upazila)
    if since is not None:
        q = q.where(Assessment.taken_at >= since)
    if school_id is not None:
        q = q.where(Assessment.school_id == school_id)
    return list(db.execute(q.order_by(Assessment.taken_at, Assessment.id)).scalars())


def per_school(db: Session, since: datetime | None = None, upazila: str | None = None
               ) -> dict[int, Aggregate]:
    """school id -> Aggregate, for the headteacher's digest."""
    out: dict[int, Aggregate] = {}
    for a in _assessments(db, upazila=upazila, since=since):
        if a.school is None:
            continue
        out.setdefault(a.school_id, Aggregate(key=(a.school.emis, a.school.name))).add(a)
    return out


def per_upazila(db: Session, since: datetime | None = None) -> dict[tuple, Aggregate]:
    """(district, upazila) -> Aggregate, for the officer's digest."""
    out: dict[tuple, Aggregate] = {}
    for a in _assessments(db, since=since):
        key = (a.district, a.upazila)
        out.setdefault(key, Aggregate(key=key)).add(a)
    return out


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def export_rows(db: Session, tz: str, upazila: str | None = None,
                since: datetime | None = None) -> Iterator[dict]:
    zone = ZoneInfo(tz)
    for a in _assessments(db, upazila=upazila, since=since):
        for r in sorted(a.results, key=lambda r: r.slot):
            yield {"assessment": a.id, "teacher": a.person_id,
                   "school_emis": a.school.emis if a.school else "",
                   "school_name": a.school.name if a.school else "",
                   "upazila": a.upazila or "", "district": a.district or "",
                   "grade": "" if a.grade is None else a.grade,
                   "date": a.taken_at.astimezone(zone).date().isoformat(),
                   "slot": r.slot, "level": r.level}


def write_csv(out: IO[str], rows: Iterable[dict]) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n
