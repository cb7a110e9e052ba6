"""The weekly rollup: every school's week (figures.metrics) kept in `figure`, summed per
upazila in `area_figure`, so that a digest reads its area in a statement or two.

    refresh       work a week out again, for every school, set-based (INSERT .. SELECT)
    schools_moved sum every week's areas again after the roster moved schools
    shown_weeks   the SHOWN_WEEKS weeks up to a week, oldest first (the console's dashboard)
    ensure_fresh  refresh the weeks that are stale: older than FRESH_FOR, unless worked out
                  after the week's answers became final; one statement when none is
    totals        {week: Counter(metric)} of an area (an upazila, a district, the country,
                  or by upazila), from area_figure
    by_area       {(district, upazila): Counter(metric)} of an area's upazilas in a week
    meetings      schools of an area with a staff meeting in any of some weeks (distinct)
    needing_visit the area's schools with no meeting and no one who tried the activity for
                  VISIT_WEEKS school weeks: how many, and the first ones, in one statement
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import String, delete, func, insert, literal, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..campaigns.calendar import Calendar
from ..contacts.jurisdiction import Area, schools_in
from ..store.models import AreaFigure, Checkin, Figure, FigureRefresh, School
from . import figures as f

FRESH_FOR = timedelta(minutes=10)  # a week's rollup younger than this is used as it is
FINAL_AFTER = timedelta(days=8)  # from a week's Sunday: the next nudge has closed its reflections
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)  # a week whose figures were never worked out
SHOWN_WEEKS = 12  # the school weeks the console's dashboard shows (jobs.keep_fresh keeps them)
VISIT_WEEKS = 3  # no meeting and no one trying the activity for this many school weeks: a visit
WROTE = "sathi_wrote_figures"  # Session.info key: this transaction refreshed a week
WORK_MEM = "256MB"  # PostgreSQL memory for the refresh's joins and sorts (its default is 4MB,
# so a week of a million teachers would sort on disk); set for the refresh's transaction only


def refresh(db: Session, cal: Calendar, week: str, now: datetime,
            campaigns: tuple[str, ...] | None = None) -> None:
    """Work out every school's and every upazila's figures for a week, in the database, in
    place of the week's old ones, in the caller's transaction. `campaigns`: the reflection
    campaigns' ids (figures.reflection_campaigns), to read the week's rows by their index."""
    if db.bind.dialect.name == "postgresql":
        db.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    m = f.metrics(week, f.week_bounds(cal, week), campaigns=campaigns)
    db.execute(delete(Figure).where(Figure.week == week))
    db.execute(insert(Figure).from_select(
        ["week", "school_id", "metric", "value"],
        select(literal(week, String(8)), m.c.school_id, m.c.metric, m.c.value)))
    _sum_areas(db, week)
    db.info[WROTE] = True
    mark = db.get(FigureRefresh, week)
    if mark is None:
        db.add(FigureRefresh(week=week, refreshed_at=now))
    else:
        mark.refreshed_at = now
    db.flush()


def _sum_areas(db: Session, week: str) -> None:
    """area_figure of a week: its schools' figures summed by the upazila each school is in."""
    db.execute(delete(AreaFigure).where(AreaFigure.week == week))
    wk = literal(week, String(8))
    db.execute(insert(AreaFigure).from_select(
        ["week", "district", "upazila", "metric", "value"], union_all(
            select(wk, School.district, School.upazila, Figure.metric, func.sum(Figure.value))
            .join(School, School.id == Figure.school_id).where(Figure.week == week)
            .group_by(School.district, School.upazila, Figure.metric),
            select(wk, School.district, School.upazila, f._name("schools"), func.count())
            .group_by(School.district, School.upazila),
            select(wk, School.district, School.upazila, f._name("meetings"), func.count())
            .join(Checkin, Checkin.school_id == School.id)
            .where(Checkin.week == week, Checkin.meeting.is_(True))
            .group_by(School.district, School.upazila))))


def schools_moved(db: Session) -> int:
    """After the roster moved schools to another upazila or district: every week's
    area_figure summed again from `figure` (each school's own counts do not change), so a
    week whose answers are final, never worked out again, follows its schools too. In the
    caller's transaction; returns the weeks summed."""
    weeks = list(db.execute(select(FigureRefresh.week).order_by(FigureRefresh.week)).scalars())
    for week in weeks:
        _sum_areas(db, week)
    return len(weeks)


def shown_weeks(cal: Calendar, week: str, n: int = SHOWN_WEEKS) -> list[str]:
    """`week` and the n - 1 weeks before it, oldest first (holiday weeks too: a chart's gap)."""
    return [cal.next_week(week, -i) for i in range(n - 1, -1, -1)]


def refreshed_at(db: Session, week: str) -> datetime | None:
    """When the week's figures were last worked out (None: never)."""
    mark = db.get(FigureRefresh, week)
    return mark.refreshed_at if mark is not None and mark.refreshed_at > NEVER else None


def final_at(cal: Calendar, week: str) -> datetime:
    """When a week's answers are final: the next week's nudge has closed its reflections."""
    return cal.at(f.sunday(week) + FINAL_AFTER, time(0))


def is_fresh(cal: Calendar, week: str, refreshed_at: datetime | None, now: datetime) -> bool:
    """Fresh: worked out less than FRESH_FOR ago, or after the week's answers were final."""
    if refreshed_at is None:
        return False
    return refreshed_at >= min(now - FRESH_FOR, final_at(cal, week))


def ensure_fresh(db: Session, cal: Calendar, weeks: list[str], now: datetime,
                 campaigns: tuple[str, ...] | None = None) -> int:
    """Refresh each of `weeks` whose figures are stale, oldest first; returns how many were.
    When all are fresh this is one statement. Two workers finding the same week stale: the
    second waits on the first's row lock, then finds it fresh."""
    weeks = sorted(set(weeks))
    # refreshed_at only grows, so a week seen fresh is fresh until FRESH_FOR has passed: each
    # pooled connection remembers what it saw, and a worker's next digest skips the look (an
    # operator who empties figure_refresh by hand restarts the workers)
    seen = db.connection().info.setdefault("sathi_refreshed_at", {})
    if all(is_fresh(cal, w, seen.get(w), now) for w in weeks):
        return 0
    marks = dict(db.execute(select(FigureRefresh.week, FigureRefresh.refreshed_at)
                            .where(FigureRefresh.week.in_(weeks))).all())
    if not db.info.get(WROTE):  # what this transaction wrote may yet be rolled back (a preview)
        seen.update(marks)
    stale = [w for w in weeks if not is_fresh(cal, w, marks.get(w), now)]
    done = 0
    for week in stale:
        if week not in marks:  # the row to lock; another worker may be making it too
            dialect = postgresql if db.bind.dialect.name == "postgresql" else sqlite
            db.execute(dialect.insert(FigureRefresh).values(week=week, refreshed_at=NEVER)
                       .on_conflict_do_nothing(index_elements=["week"]))
        mark = db.get(FigureRefresh, week, with_for_update=True, populate_existing=True)
        if not is_fresh(cal, week, mark.refreshed_at, now):
            refresh(db, cal, week, now, campaigns)
            done += 1
    return done


def _area(area: Area | None) -> tuple:
    """`schools_in` for area_figure's rows: the same rule, on the upazila and district."""
    if area is None or area.school_id is not None:
        raise ValueError("area_figure holds upazilas, districts and the country")
    return tuple(cond for cond in (
        AreaFigure.district == area.district if area.district is not None else None,
        AreaFigure.upazila == area.upazila if area.upazila is not None else None)
        if cond is not None)


def totals(db: Session, area: Area, weeks: list[str], by_upazila: bool = False) -> dict:
    """{week: Counter(metric: sum)} of the area; by_upazila: {upazila: {week: Counter}}.
    Metrics are figures.metrics' and `schools`, `meetings`; nothing recorded is absent."""
    key = (AreaFigure.upazila,) if by_upazila else ()
    rows = db.execute(select(*key, AreaFigure.week, AreaFigure.metric,
                             func.sum(AreaFigure.value))
                      .where(AreaFigure.week.in_(weeks), *_area(area))
                      .group_by(*key, AreaFigure.week, AreaFigure.metric)).all()
    out: dict = {}
    for row in rows:
        *where, week, metric, value = row
        holder = out.setdefault(where[0], {}) if by_upazila else out
        holder.setdefault(week, Counter())[metric] += int(value)
    return out


def by_area(db: Session, area: Area, week: str) -> dict:
    """{(district, upazila): Counter(metric: sum)} of the area's upazilas in a week (an upazila
    is named with its district: names repeat), from area_figure."""
    out: dict = {}
    for district, upazila, metric, value in db.execute(
            select(AreaFigure.district, AreaFigure.upazila, AreaFigure.metric, AreaFigure.value)
            .where(AreaFigure.week == week, *_area(area))):
        out.setdefault((district, upazila), Counter())[metric] += int(value)
    return out


def meetings(db: Session, area: Area | None, weeks: list[str], by_upazila: bool = False):
    """Schools whose headteacher reported a staff meeting in any of `weeks`, each counted once
    (by upazila: {upazila: n})."""
    held = (select(Checkin.school_id).where(Checkin.week.in_(weeks), Checkin.meeting.is_(True))
            .distinct().subquery())
    q = select(*((School.upazila,) if by_upazila else ()), func.count()).select_from(School) \
        .join(held, held.c.school_id == School.id).where(*schools_in(area))
    if by_upazila:
        return dict(db.execute(q.group_by(School.upazila)).all())
    return db.execute(q).scalar()


def needing_visit(db: Session, area: Area | None, weeks: list[str], limit: int
                  ) -> tuple[int, list[tuple[str, str]]]:
    """(how many, [(emis, name)] of the first `limit`) of the area's schools with no staff
    meeting reported and no teacher who tried the activity in any of `weeks`; the ones with the
    most rostered teachers first (the most learners one visit reaches), then by EMIS code."""
    tried = select(Figure.school_id).where(Figure.school_id == School.id,
                                           Figure.week.in_(weeks), Figure.metric == "tried")
    met = select(Checkin.school_id).where(Checkin.school_id == School.id,
                                          Checkin.week.in_(weeks), Checkin.meeting.is_(True))
    teachers = (select(Figure.value).where(Figure.school_id == School.id,
                                           Figure.week == weeks[-1], Figure.metric == "teachers")
                .scalar_subquery())
    rows = db.execute(select(School.emis, School.name, func.count().over())
                      .where(*schools_in(area), ~tried.exists(), ~met.exists())
                      .order_by(func.coalesce(teachers, 0).desc(), School.emis)
                      .limit(max(limit, 1))).all()
    return (rows[0][2] if rows else 0), [(emis, name) for emis, name, _ in rows[:limit]]
