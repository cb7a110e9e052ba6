"""An area's figures for a digest: an upazila's week, a district's month.

Everything is read from the weekly rollup (rollup.py) in three statements (are the weeks
fresh; the area's sums; the schools that need a visit), a month's distinct meetings in a
fourth. What is not recorded yet (no check-ins before the voice calls run, no assessments) is
zero, and the text leaves it out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ..campaigns.calendar import Calendar
from ..contacts.jurisdiction import Area
from . import figures as f
from . import rollup

VISIT_LISTED = 60  # schools named in a visit list at most (a fortnight of visits and more)
BEHIND_SHOWN = 3  # upazilas named as most behind in a district's monthly roll-up


@dataclass
class Figures:
    area: Area
    period: str  # the school week ("2026-W49") or, for a monthly roll-up, the month ("2026-12")
    week: str  # the last school week counted
    schools: int = 0
    teachers: int = 0  # rostered, not opted out (as of the last week)
    active: int = 0  # of them, onboarded
    joined: int = 0  # onboarded in the period
    opted_out: int = 0  # opted out in the period
    asked: int = 0  # reflections sent (teacher-weeks, for a month)
    answered: int = 0
    tried: int = 0
    meetings: int = 0  # schools whose headteacher reported a staff meeting in the period
    obstacles: Counter = field(default_factory=Counter)
    visit: int = 0  # schools with no meeting and no activity for VISIT_WEEKS school weeks
    month: str = ""  # the month of the assessments
    assessments: int = 0  # this month
    levels: Counter = field(default_factory=Counter)  # learners per level, this month
    last_assessments: int = 0
    last_levels: Counter = field(default_factory=Counter)  # last month
    behind: list = field(default_factory=list)  # [(upazila, tried, asked)] most behind first
    listed: list = field(default_factory=list)  # [(emis, name)]: the first schools to visit

    @property
    def top_obstacle(self) -> str | None:
        return f.top_obstacle(self.obstacles)


def _add(fig: Figures, weeks: dict, names: list[str]) -> None:
    for week in names:
        c = weeks.get(week, Counter())
        for metric in ("joined", "opted_out", "asked", "answered", "tried"):
            setattr(fig, metric, getattr(fig, metric) + c[metric])
        fig.obstacles.update(f.prefixed(c, f.OBSTACLE))


def _levels(weeks: dict, names: list[str]) -> tuple[int, Counter]:
    levels, n = Counter(), 0
    for week in names:
        c = weeks.get(week, Counter())
        n += c[f.ASSESSMENTS]
        levels.update({int(k): v for k, v in f.prefixed(c, f.LEVEL).items()})
    return n, levels


def weeks_needed(cal: Calendar, week: str, month: str | None = None) -> dict[str, list[str]]:
    """The weeks a digest reads: `period` (the week, or the month's weeks up to `week`), the
    weeks that decide a visit, and this and last month's weeks for the assessments."""
    this = f.weeks_of_month(cal, month or f.month_of(week), until=week) or [week]
    return {"period": this if month else [week],
            "visit": f.school_weeks_back(cal, week, rollup.VISIT_WEEKS),
            "month": this,
            "last_month": f.weeks_of_month(cal, f.previous_month(month or f.month_of(week)))}


def weekly(db: Session, cal: Calendar, area: Area, week: str, now: datetime,
           campaigns: tuple[str, ...] | None = None, refresh: bool = True) -> Figures:
    """An upazila's (or any area's) school week. refresh=False reads the rollup as it stands
    (the console's dashboard: jobs.keep_fresh works it out, never a page request)."""
    return _gather(db, cal, area, week, week, weeks_needed(cal, week), now, campaigns, refresh)


def monthly(db: Session, cal: Calendar, area: Area, month: str, week: str, now: datetime,
            campaigns: tuple[str, ...] | None = None) -> Figures:
    """A district's (or any area's) month, up to `week`, with its upazilas most behind."""
    need = weeks_needed(cal, week, month)
    fig = _gather(db, cal, area, month, week, need, now, campaigns)
    fig.meetings = rollup.meetings(db, area, need["period"])  # each school once in the month
    fig.behind = behind(db, area, need["period"])
    return fig


def _gather(db, cal, area, period, week, need, now, campaigns, refresh=True) -> Figures:
    every = sorted({w for ws in need.values() for w in ws})
    if refresh:
        rollup.ensure_fresh(db, cal, every, now, campaigns)
    weeks = rollup.totals(db, area, every)
    latest = weeks.get(need["period"][-1], Counter())
    visit, listed = rollup.needing_visit(db, area, need["visit"], VISIT_LISTED)
    fig = Figures(area=area, period=period, week=week, schools=latest["schools"],
                  teachers=latest["teachers"], active=latest["active"],
                  meetings=latest["meetings"], visit=visit, listed=listed,
                  month=f.month_of(week) if period == week else period)
    _add(fig, weeks, need["period"])
    fig.assessments, fig.levels = _levels(weeks, need["month"])
    fig.last_assessments, fig.last_levels = _levels(weeks, need["last_month"])
    return fig


def behind(db: Session, area: Area, weeks: list[str]) -> list[tuple[str, int, int]]:
    """The area's upazilas with rostered teachers, the least practice first: the smallest share
    of reflections answered 'tried' (none sent counts as none tried), then the smallest share
    of schools with a meeting, then by name. [(upazila, tried, asked)], BEHIND_SHOWN of them."""
    per = rollup.totals(db, area, weeks, by_upazila=True)
    held = rollup.meetings(db, area, weeks, by_upazila=True)
    ranked = []
    for upazila, by_week in per.items():
        total = sum(by_week.values(), Counter())
        latest = by_week.get(max(by_week), Counter())
        if not latest["teachers"]:
            continue
        share = total["tried"] / total["asked"] if total["asked"] else 0.0
        ranked.append((share, held.get(upazila, 0) / max(latest["schools"], 1), upazila,
                       total["tried"], total["asked"]))
    ranked.sort()
    return [(u, t, a) for _, _, u, t, a in ranked[:BEHIND_SHOWN]]


def visit_list(db: Session, cal: Calendar, area: Area, week: str, now: datetime,
               campaigns: tuple[str, ...] | None = None) -> tuple[int, list[tuple[str, str]]]:
    """(how many, the first VISIT_LISTED (emis, name)) schools of the area needing a visit."""
    weeks = f.school_weeks_back(cal, week, rollup.VISIT_WEEKS)
    rollup.ensure_fresh(db, cal, weeks, now, campaigns)
    return rollup.needing_visit(db, area, weeks, VISIT_LISTED)
