"""The figures of one school's week, from one place: the headteacher's call, their text
summary and the officers' digests all read them here.

A week's reflection is the run of the `reflection` flow that this week's campaign row started;
its answers say whether the teacher tried the activity (`tried`: yes | partly | no), what got in
the way (`obstacle`, coded: store.models.OBSTACLES) and whether they will share it at the staff
meeting (`share`: yes | no). The headteacher's check-in is the `checkin` row of that week.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..store.models import OBSTACLES, Answer, CampaignRun, Checkin, FlowRun, Person

REFLECTION_FLOW = "reflection"  # the flow whose answers are the week's reflections
TRIED = ("yes", "partly")  # `tried` answers that count as having tried the activity


@dataclass(frozen=True)
class SchoolWeek:
    school_id: int
    week: str
    teachers: int = 0  # rostered teachers who have not opted out
    active: int = 0  # of them, onboarded
    asked: int = 0  # sent this week's reflection
    answered: int = 0  # said whether they tried the activity
    tried: tuple[str, ...] = ()  # names of those who tried it (yes or partly)
    obstacles: dict = field(default_factory=dict)  # {code: teachers}, codes in OBSTACLES
    sharers: tuple[str, ...] = ()  # names of those who will share it at the staff meeting
    meeting: bool | None = None  # the headteacher's check-in; None: not (yet) answered
    practised: bool | None = None
    walks: int | None = None
    foundation_lessons: int | None = None

    @property
    def top_obstacle(self) -> str | None:
        """The obstacle most teachers named; a tie goes to the first in OBSTACLES."""
        if not self.obstacles:
            return None
        return max(OBSTACLES, key=lambda code: (self.obstacles.get(code, 0),
                                                -OBSTACLES.index(code)))


def school_week(db: Session, school_id: int, week: str) -> SchoolWeek:
    teachers = (Person.school_id == school_id, Person.role == "teacher",
                Person.opted_out_at.is_(None))
    rostered, active = db.execute(select(
        func.count(Person.id), func.count(Person.onboarded_at)).where(*teachers)).one()
    # the last answer to each question of each teacher's reflection this week
    latest = (select(Person.name, Answer.field, Answer.value,
                     func.row_number().over(partition_by=(Answer.run_id, Answer.field),
                                            order_by=Answer.id.desc()).label("n"))
              .select_from(CampaignRun)
              .join(FlowRun, and_(FlowRun.id == CampaignRun.flow_run_id,
                                  FlowRun.flow == REFLECTION_FLOW))
              .join(Person, Person.id == CampaignRun.person_id)
              .join(Answer, Answer.run_id == FlowRun.id)
              .where(CampaignRun.week == week, Answer.field.in_(("tried", "obstacle", "share")),
                     *teachers).subquery())
    rows = db.execute(select(latest.c.name, latest.c.field, latest.c.value)
                      .where(latest.c.n == 1).order_by(latest.c.name)).all()
    asked = db.execute(select(func.count(CampaignRun.id))
                       .join(FlowRun, and_(FlowRun.id == CampaignRun.flow_run_id,
                                           FlowRun.flow == REFLECTION_FLOW))
                       .join(Person, Person.id == CampaignRun.person_id)
                       .where(CampaignRun.week == week, *teachers)).scalar()
    checkin = db.execute(select(Checkin).where(Checkin.school_id == school_id,
                                               Checkin.week == week)).scalar_one_or_none()
    return SchoolWeek(
        school_id=school_id, week=week, teachers=rostered, active=active, asked=asked,
        answered=sum(1 for _, f, _ in rows if f == "tried"),
        tried=tuple(n for n, f, v in rows if f == "tried" and v in TRIED),
        obstacles=dict(Counter(v for _, f, v in rows if f == "obstacle" and v in OBSTACLES)),
        sharers=tuple(n for n, f, v in rows if f == "share" and v == "yes"),
        meeting=checkin.meeting if checkin else None,
        practised=checkin.practised if checkin else None,
        walks=checkin.walks if checkin else None,
        foundation_lessons=checkin.foundation_lessons if checkin else None)
