"""The figures of a school's week, from one place: the headteacher's call, their text summary,
the officers' digests and the weekly export all count them here.

The programme console's dashboard reads the same rollup, with three more counts per school:
the week's nudges sent (`nudged`), headteachers' check-ins (`checkins`) and the SMS segments
sent to the school's people (`segments:ucs2`, `segments:gsm`: by the person's language, Bangla
being UCS-2; the cost is estimated from them).

A week's reflection is the run of the `reflection` flow that this week's campaign row started;
its answers say whether the teacher tried the activity (`tried`: yes | partly | no), what got in
the way (`obstacle`, coded: store.models.OBSTACLES) and whether they will share it at the staff
meeting (`share`: yes | no); the last answer to each question counts. The headteacher's check-in
is the `checkin` row of that week.

One query builder (`metrics`) counts every school's week with GROUP BY, never a loop per
teacher. `school_week` runs it for one school, live; rollup.py runs it for every school at
once and keeps the result (the `figure` and `area_figure` tables), which the digests read for
a whole upazila or district in a statement or two. So a school's week is counted the same way
wherever it is shown (tests/test_digests.py compares the two for every school and week).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from ..campaigns.calendar import Calendar, parse_week
from ..store.models import (
    OBSTACLES,
    Answer,
    Assessment,
    AssessmentResult,
    CampaignRun,
    Checkin,
    FlowRun,
    Message,
    Person,
)

REFLECTION_FLOW = "reflection"  # the flow whose answers are the week's reflections
TRIED = ("yes", "partly")  # `tried` answers that count as having tried the activity
FIELDS = ("tried", "obstacle", "share")  # the reflection answers the figures count

PEOPLE_METRICS = ("teachers", "active", "joined", "opted_out")
WEEK_METRICS = ("asked", "answered", "tried", "shared")
OBSTACLE = "obstacle:"  # metric prefix: obstacle:<code>, the teachers who named that obstacle
LEVEL = "level:"  # metric prefix: level:<n>, learners assessed at level n
ASSESSMENTS = "assessments"
NUDGE_CAMPAIGNS = ("nudge",)  # flows/campaigns.yaml: the campaign that sends the week's activity
CONSOLE_METRICS = ("nudged", "checkins")  # and SEGMENTS + encoding: the console's counts
SEGMENTS = "segments:"  # metric prefix: segments:ucs2 | segments:gsm, SMS segments sent
SMS_SENT = ("sent", "delivered", "undelivered", "read")  # outbound statuses the provider took
UCS2_LANGUAGES = ("bn",)  # people whose texts are Bangla script: UCS-2, 70 characters a segment


# -- weeks and months --------------------------------------------------------------------------
def sunday(week: str) -> date:
    year, num = parse_week(week)
    return date.fromisocalendar(year, num, 1) - timedelta(days=1)


def week_bounds(cal: Calendar, week: str) -> tuple[datetime, datetime]:
    """[Sunday 00:00, next Sunday 00:00) local, as UTC: Friday and Saturday close the week,
    as Calendar.week_of counts them."""
    start = sunday(week)
    return cal.at(start, time(0)), cal.at(start + timedelta(days=7), time(0))


def month_of(week: str) -> str:
    """The month a school week counts in: its Thursday's ("2026-12")."""
    thursday = sunday(week) + timedelta(days=4)
    return f"{thursday.year}-{thursday.month:02d}"


def weeks_of_month(cal: Calendar, month: str, until: str | None = None) -> list[str]:
    """The school weeks that count in `month`, in order, up to `until` if given."""
    year, num = (int(x) for x in month.split("-"))
    first = date(year, num, 1)
    week = cal.week_of(cal.at(first, time(12)))
    found = []
    for i in range(-1, 6):
        w = cal.next_week(week, i)
        if month_of(w) == month and (until is None or w <= until):
            found.append(w)
    return found


def previous_month(month: str) -> str:
    year, num = (int(x) for x in month.split("-"))
    return f"{year - 1}-12" if num == 1 else f"{year}-{num - 1:02d}"


def school_weeks_back(cal: Calendar, week: str, n: int) -> list[str]:
    """`week` and the school weeks before it, n in all, oldest first; weeks without a school
    day (a holiday week) are not counted, so they never make a school look idle."""
    found, i = [], 0
    while len(found) < n and i < 52:
        w = cal.next_week(week, -i)
        if cal.week_days(w):
            found.append(w)
        i += 1
    return sorted(found)


# -- the one query builder ---------------------------------------------------------------------
def _name(text: str):
    """A constant metric name, written into the SQL (never a value from outside)."""
    return literal_column(f"'{text}'", String).label("metric")


def _metric(prefix: str, column):
    """prefix || column: obstacle:<code>, level:<n>."""
    return literal_column(f"'{prefix}'", String).concat(column).label("metric")


def _between(column, bounds):
    return and_(column >= bounds[0], column < bounds[1])


def people_metrics(bounds: tuple[datetime, datetime] | None, where=()):
    """teachers (rostered, not opted out), active (of them, onboarded), and with the week's
    bounds: joined (onboarded) and opted_out in the week. (school_id, metric, value) rows."""
    here = Person.opted_out_at.is_(None)
    cols = [func.count(case((here, 1))).label("teachers"),
            func.count(case((and_(here, Person.onboarded_at.is_not(None)), 1))).label("active")]
    if bounds is not None:
        cols += [func.count(case((_between(Person.onboarded_at, bounds), 1))).label("joined"),
                 func.count(case((_between(Person.opted_out_at, bounds), 1))).label("opted_out")]
    people = (select(Person.school_id.label("school_id"), *cols)
              .where(Person.role == "teacher", Person.school_id.is_not(None), *where)
              .group_by(Person.school_id).cte("people"))
    return [select(people.c.school_id, _name(c.name), people.c[c.name].label("value"))
            .where(people.c[c.name] > 0) for c in cols]


def reflection_campaigns(campaigns: dict) -> tuple[str, ...]:
    """The ids of the campaigns (flows/campaigns.yaml) that start the reflection flow."""
    return tuple(sorted(c.id for c in campaigns.values() if c.flow == REFLECTION_FLOW))


def _reflections(week: str | list[str], where=(), campaigns: tuple[str, ...] | None = None):
    """The week's (or weeks') reflection runs of teachers who have not opted out, with their
    school: the runs of the reflection flow that a campaign row of the week started. Given the
    reflection campaigns' ids, the rows are found by the campaign row's unique index instead
    (the same rows: those campaigns start that flow, and nothing else does)."""
    weeks = [week] if isinstance(week, str) else list(week)
    q = select(CampaignRun.flow_run_id.label("run_id"), Person.id.label("person_id"),
               Person.school_id.label("school_id"))
    if campaigns is None:
        q = q.join(FlowRun, and_(FlowRun.id == CampaignRun.flow_run_id,
                                 FlowRun.flow == REFLECTION_FLOW))
    else:
        q = q.where(CampaignRun.campaign.in_(campaigns), CampaignRun.flow_run_id.is_not(None))
    return (q.join(Person, Person.id == CampaignRun.person_id)
            .where(CampaignRun.week.in_(weeks), Person.role == "teacher",
                   Person.opted_out_at.is_(None), Person.school_id.is_not(None), *where)
            .cte("runs"))


def _last_answers(runs, since: datetime | None = None):
    """The last answer to each counted question of each run (n = 1). `since`, the week's
    start, changes nothing (a week's run starts in it, and is answered after it starts) but
    lets the database read one week of answers by their time instead of all of them."""
    return (select(runs.c.school_id, runs.c.person_id, Answer.field, Answer.value,
                   func.row_number().over(partition_by=(Answer.run_id, Answer.field),
                                          order_by=Answer.id.desc()).label("n"))
            .join(runs, runs.c.run_id == Answer.run_id)
            .where(Answer.field.in_(FIELDS),
                   *((Answer.created_at >= since,) if since is not None else ()))
            .cte("answers"))


def week_metrics(week: str, where=(), campaigns: tuple[str, ...] | None = None,
                 since: datetime | None = None):
    """asked (sent the reflection), answered (said whether they tried), tried (yes or partly),
    shared (will share it at the staff meeting) and obstacle:<code>, per school: one pass
    over the runs (asked) and one over their last answers (every other count a column), then
    the per-school rows turned into (school_id, metric, value)."""
    runs = _reflections(week, where, campaigns)
    last = _last_answers(runs, since)
    field, value = last.c.field, last.c.value
    counts = {
        "answered": field == "tried",
        "tried": and_(field == "tried", value.in_(TRIED)),
        "shared": and_(field == "share", value == "yes"),
        **{OBSTACLE + code: and_(field == "obstacle", value == code) for code in OBSTACLES},
    }
    columns = {name: f"c{i}" for i, name in enumerate(counts)}  # SQL-safe column labels
    answered = (select(last.c.school_id, *[func.count(case((cond, 1))).label(columns[name])
                                            for name, cond in counts.items()])
                .where(last.c.n == 1).group_by(last.c.school_id).cte("answered"))
    return [
        select(runs.c.school_id, _name("asked"), func.count().label("value"))
        .group_by(runs.c.school_id),
        *[select(answered.c.school_id, _name(name), answered.c[col].label("value"))
          .where(answered.c[col] > 0) for name, col in columns.items()],
    ]


def assessment_metrics(bounds: tuple[datetime, datetime], where=()):
    """assessments taken in the bounds, and level:<n> (learners at each level), per school
    the assessment was taken in."""
    taken = (Assessment.school_id.is_not(None), _between(Assessment.taken_at, bounds), *where)
    return [
        select(Assessment.school_id.label("school_id"), _name(ASSESSMENTS),
               func.count().label("value"))
        .where(*taken).group_by(Assessment.school_id),
        select(Assessment.school_id.label("school_id"),
               _metric(LEVEL, cast(AssessmentResult.level, String)), func.count().label("value"))
        .join(AssessmentResult, AssessmentResult.assessment_id == Assessment.id)
        .where(*taken).group_by(Assessment.school_id, AssessmentResult.level),
    ]


def console_metrics(week: str, bounds: tuple[datetime, datetime] | None, school_id=None):
    """nudged (the week's nudge campaign rows sent to teachers), checkins (the headteacher's
    check-in rows of the week) and, with the week's bounds, segments:<encoding> (SMS segments
    sent to the school's people that week), per school (or only `school_id`'s)."""
    where = (Person.school_id == school_id,) if school_id is not None else ()
    parts = [
        select(Person.school_id.label("school_id"), _name("nudged"), func.count().label("value"))
        .join(CampaignRun, CampaignRun.person_id == Person.id)
        .where(CampaignRun.week == week, CampaignRun.campaign.in_(NUDGE_CAMPAIGNS),
               CampaignRun.status == "sent", Person.role == "teacher",
               Person.school_id.is_not(None), *where)
        .group_by(Person.school_id),
        select(Checkin.school_id.label("school_id"), _name("checkins"),
               func.count().label("value"))
        .where(Checkin.week == week,
               *((Checkin.school_id == school_id,) if school_id is not None else ()))
        .group_by(Checkin.school_id),
    ]
    if bounds is not None:
        encoding = case((Person.language.in_(UCS2_LANGUAGES), "ucs2"), else_="gsm")
        parts.append(
            select(Person.school_id.label("school_id"), _metric(SEGMENTS, encoding),
                   func.sum(Message.segments).label("value"))
            .join(Message, Message.person_id == Person.id)
            .where(Message.direction == "out", Message.channel == "sms",
                   Message.status.in_(SMS_SENT), _between(Message.created_at, bounds),
                   Message.segments > 0, Person.school_id.is_not(None), *where)
            .group_by(Person.school_id, encoding))
    return parts


def metrics(week: str, bounds: tuple[datetime, datetime] | None = None, school_id=None,
            campaigns: tuple[str, ...] | None = None):
    """Every metric of every school's week as one set of (school_id, metric, value) rows:
    one UNION ALL of GROUP BY statements. With `school_id`, that school's only; without
    `bounds`, the counts that need the week's dates (joined, opted_out, assessments) are left
    out; `campaigns`: see _reflections."""
    person = (Person.school_id == school_id,) if school_id is not None else ()
    parts = people_metrics(bounds, person) + week_metrics(
        week, person, campaigns, bounds[0] if bounds is not None else None)
    parts += console_metrics(week, bounds, school_id)
    if bounds is not None:
        parts += assessment_metrics(
            bounds, (Assessment.school_id == school_id,) if school_id is not None else ())
    return union_all(*parts).subquery("m")


# -- one school, live --------------------------------------------------------------------------
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
    # with a calendar (the week's dates): joined and opted out this week, assessments taken
    joined: int = 0
    opted_out: int = 0
    assessments: int = 0
    levels: dict = field(default_factory=dict)  # {level: learners}

    @property
    def top_obstacle(self) -> str | None:
        """The obstacle most teachers named; a tie goes to the first in OBSTACLES."""
        return top_obstacle(self.obstacles)


def top_obstacle(obstacles: dict) -> str | None:
    if not any(obstacles.values()):
        return None
    return max(OBSTACLES, key=lambda code: (obstacles.get(code, 0), -OBSTACLES.index(code)))


def school_week(db: Session, school_id: int, week: str, cal: Calendar | None = None
                ) -> SchoolWeek:
    """One school's week, counted now by the same statements `refresh` runs for every school,
    with the names of who tried and who will share (for the headteacher)."""
    m = metrics(week, week_bounds(cal, week) if cal else None, school_id)
    counts = dict(db.execute(select(m.c.metric, m.c.value)).all())
    runs = _reflections(week, (Person.school_id == school_id,))
    last = _last_answers(runs)
    named = db.execute(select(Person.name, last.c.field, last.c.value)
                       .join(Person, Person.id == last.c.person_id)
                       .where(last.c.n == 1, last.c.field.in_(("tried", "share")))
                       .order_by(Person.name, Person.id)).all()
    checkin = db.execute(select(Checkin).where(Checkin.school_id == school_id,
                                               Checkin.week == week)).scalar_one_or_none()
    return SchoolWeek(
        school_id=school_id, week=week,
        **{k: counts.get(k, 0) for k in ("teachers", "active", "asked", "answered", "joined",
                                         "opted_out", "assessments")},
        tried=tuple(n for n, f, v in named if f == "tried" and v in TRIED),
        obstacles=prefixed(counts, OBSTACLE),
        sharers=tuple(n for n, f, v in named if f == "share" and v == "yes"),
        levels={int(k): v for k, v in prefixed(counts, LEVEL).items()},
        meeting=checkin.meeting if checkin else None,
        practised=checkin.practised if checkin else None,
        walks=checkin.walks if checkin else None,
        foundation_lessons=checkin.foundation_lessons if checkin else None)


def prefixed(counts: dict, prefix: str) -> dict:
    """{code: n} of the metrics named prefix + code."""
    return {k.removeprefix(prefix): v for k, v in counts.items() if k.startswith(prefix)}


def school_levels(db: Session, cal: Calendar, school_id: int, weeks: list[str]
                  ) -> tuple[int, Counter]:
    """(assessments, Counter(level: learners)) a school's teachers took in these weeks, counted
    live by the statements `refresh` runs."""
    if not weeks:
        return 0, Counter()
    bounds = (week_bounds(cal, weeks[0])[0], week_bounds(cal, weeks[-1])[1])
    m = union_all(*assessment_metrics(bounds, (Assessment.school_id == school_id,))).subquery()
    counts = dict(db.execute(select(m.c.metric, m.c.value)).all())
    return counts.get(ASSESSMENTS, 0), Counter(
        {int(k): v for k, v in prefixed(counts, LEVEL).items()})
