"""Recognition every fortnight, as the Teachers' Portal does it, one upazila at a time.

    nominate  the upazila's teacher with the most consistent practice and reflections, and the
              headteacher whose school kept the most meetings, over the RECOGNITION_WEEKS
              school weeks before the nomination's; made once per upazila and fortnight
              (the first officer's preparation makes them, the others find them)
    decide    an officer of that upazila says yes or skip; the first answer decides
    due       confirmed nominations whose congratulations have not gone yet (jobs.py sends
              them, to the person and, for a teacher, their headteacher; a nominee who has
              opted out since is named to no one: the nomination is withdrawn)

Nothing goes to a nominee before an officer's yes, and a nomination is only ever shown to the
officers of its own upazila.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..campaigns.calendar import Calendar
from ..contacts.jurisdiction import Area, area_of, schools_in
from ..store.models import Answer, Checkin, Person, Recognition, School
from . import figures as f

RECOGNITION_WEEKS = 4  # school weeks looked back for consistent practice, or meetings kept
AGAIN_AFTER = timedelta(weeks=12)  # someone congratulated is not nominated again before this
KINDS = ("teacher", "headteacher")
NOMINATED, CONFIRMED, SKIPPED, SENT = "nominated", "confirmed", "skipped", "sent"
WITHDRAWN = "withdrawn"  # the nominee opted out before the congratulation went: none goes


@dataclass(frozen=True)
class Nominee:
    person_id: int
    school_id: int
    score: int  # weeks practised, or meetings held
    weeks: int


def _recently_recognised(kind: str, now: datetime):
    return select(Recognition.person_id).where(
        Recognition.kind == kind, Recognition.status.in_((CONFIRMED, SENT)),
        Recognition.created_at >= now - AGAIN_AFTER)


def best_teacher(db: Session, area: Area, weeks: list[str], now: datetime) -> Nominee | None:
    """Most weeks tried (yes or partly), then most weeks answered, then the longest with us."""
    in_area = select(School.id).where(*schools_in(area))
    runs = f._reflections(weeks, (Person.school_id.in_(in_area), Person.onboarded_at.is_not(None),
                                  Person.id.not_in(_recently_recognised("teacher", now))))
    last = (select(runs.c.person_id, runs.c.school_id, Answer.value,
                   func.row_number().over(partition_by=Answer.run_id,
                                          order_by=Answer.id.desc()).label("n"))
            .join(runs, runs.c.run_id == Answer.run_id).where(Answer.field == "tried")
            .subquery())
    tried = func.count(case((last.c.value.in_(f.TRIED), 1)))
    row = db.execute(
        select(last.c.person_id, last.c.school_id, tried.label("tried"))
        .join(Person, Person.id == last.c.person_id).where(last.c.n == 1)
        .group_by(last.c.person_id, last.c.school_id, Person.onboarded_at)
        .having(tried > 0)
        .order_by(tried.desc(), func.count().desc(), Person.onboarded_at, last.c.person_id)
        .limit(1)).first()
    return Nominee(row.person_id, row.school_id, row.tried, len(weeks)) if row else None


def best_headteacher(db: Session, area: Area, weeks: list[str], now: datetime
                     ) -> Nominee | None:
    """The headteacher of the school with the most meetings reported, then the most meetings
    where teachers practised an activity, then by EMIS code."""
    held = func.count(case((Checkin.meeting.is_(True), 1)))
    practised = func.count(case((Checkin.practised.is_(True), 1)))
    head = (select(func.min(Person.id)).where(
        Person.school_id == School.id, Person.role == "headteacher",
        Person.opted_out_at.is_(None),
        Person.id.not_in(_recently_recognised("headteacher", now))).scalar_subquery())
    row = db.execute(
        select(School.id, head.label("head"), held.label("held"))
        .join(Checkin, and_(Checkin.school_id == School.id, Checkin.week.in_(weeks)))
        .where(*schools_in(area)).group_by(School.id, School.emis)
        .having(held > 0).having(head.is_not(None))
        .order_by(held.desc(), practised.desc(), School.emis).limit(1)).first()
    return Nominee(row.head, row.id, row.held, len(weeks)) if row else None


def nominate(db: Session, cal: Calendar, area: Area, week: str, now: datetime
             ) -> dict[str, Recognition]:
    """{kind: Recognition} of an upazila's fortnight, made now if no officer's preparation has
    made them yet; a kind with no one to nominate is left out."""
    if area is None or area.level != "upazila":
        return {}
    have = _of(db, area, week)
    if have:
        return have
    # the weeks before the nomination's own: on its first school day nothing is answered yet
    weeks = f.school_weeks_back(cal, cal.next_week(week, -1), RECOGNITION_WEEKS)
    found = {"teacher": best_teacher(db, area, weeks, now),
             "headteacher": best_headteacher(db, area, weeks, now)}
    dialect = postgresql if db.bind.dialect.name == "postgresql" else sqlite
    for kind, who in found.items():
        if who is None:
            continue
        db.execute(dialect.insert(Recognition).values(
            week=week, district=area.district, upazila=area.upazila, kind=kind,
            person_id=who.person_id, school_id=who.school_id, score=who.score, weeks=who.weeks,
            status=NOMINATED, created_at=now).on_conflict_do_nothing(
            index_elements=["district", "upazila", "week", "kind"]))
    return _of(db, area, week)


def _of(db: Session, area: Area, week: str) -> dict[str, Recognition]:
    return {r.kind: r for r in db.execute(select(Recognition).where(
        Recognition.district == area.district, Recognition.upazila == area.upazila,
        Recognition.week == week)).scalars()}


def decide(db: Session, recognition_id: int, officer: Person, yes: bool, now: datetime) -> str:
    """An officer's answer: 'confirmed' or 'skipped' when theirs decides, 'decided' when a
    colleague's answer came first, 'refused' when the nomination is not of their upazila."""
    rec = db.get(Recognition, recognition_id)
    area = area_of(officer)
    if (rec is None or officer.role != "officer" or area is None
            or (area.district, area.upazila) != (rec.district, rec.upazila)):
        return "refused"
    status = CONFIRMED if yes else SKIPPED
    won = db.execute(update(Recognition).where(Recognition.id == rec.id,
                                               Recognition.status == NOMINATED)
                     .values(status=status, decided_by=officer.id, decided_at=now)).rowcount
    return status if won else "decided"


def due(db: Session, limit: int = 100) -> list[int]:
    """Confirmed nominations whose congratulations have not gone yet, oldest first."""
    return list(db.execute(select(Recognition.id).where(Recognition.status == CONFIRMED)
                           .order_by(Recognition.decided_at, Recognition.id).limit(limit))
                .scalars())


def recipients(db: Session, rec: Recognition) -> list[tuple[Person, str]]:
    """Who is congratulated, and as whom: the nominee, and a teacher's headteacher(s). No one
    when the nominee has opted out: they are not named to anyone once they have left."""
    nominee = db.get(Person, rec.person_id)
    if nominee is None or nominee.opted_out_at is not None:
        return []
    out = [(nominee, "nominee_" + rec.kind)]
    if rec.kind == "teacher":
        heads = db.execute(select(Person).where(
            Person.school_id == rec.school_id, Person.role == "headteacher",
            Person.opted_out_at.is_(None)).order_by(Person.id)).scalars()
        out += [(h, "teachers_head") for h in heads]
    return [(p, to) for p, to in out if p.opted_out_at is None]


def claim(db: Session, recognition_id: int, now: datetime) -> Recognition | None:
    """confirmed -> sent, once: the congratulations are started in this same transaction.
    A nomination whose nominee has opted out since becomes `withdrawn` instead (None)."""
    rec = db.get(Recognition, recognition_id)
    nominee = db.get(Person, rec.person_id) if rec is not None else None
    gone = nominee is None or nominee.opted_out_at is not None
    won = db.execute(update(Recognition).where(Recognition.id == recognition_id,
                                               Recognition.status == CONFIRMED)
                     .values(status=WITHDRAWN if gone else SENT, sent_at=now)).rowcount
    return (db.get(Recognition, recognition_id, populate_existing=True)
            if won and not gone else None)
