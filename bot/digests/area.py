"""An area's figures for a digest: an upazila's week, a district's month.

Everything is read from the weekly rollup (figures.py) for the area's schools, in a handful of
GROUP BY statements, after making sure the weeks it reads are fresh. What is not recorded yet
(no check-ins before the voice calls run, no assessments) is zero, and the text leaves it out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ..campaigns.calendar import Calendar
from ..contacts.jurisdiction import Area
from . import figures as f

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
            "visit": f.school_weeks_back(cal, week, f.VISIT_WEEKS),
            "month": this,
            "last_month": f.weeks_of_month(cal, f.previous_month(month or f.month_of(week)))}


def weekly(db: Session, cal: Calendar, area: Area, week: str, now: datetime) -> Figures:
    """An upazila's (or any area's) school week."""
    return _gather(db, cal, area, week, week, weeks_needed(cal, week), now)


def monthly(db: Session, cal: Calendar, area: Area, month: str, week: str, now: datetime
            ) -> Figures:
    """A district's (or any area's) month, up to `week`, with its upazilas most behind."""
    need = weeks_needed(cal, week, month)
    fig = _gather(db, cal, area, month, week, need, now)
    fig.behind = behind(db, area, need["period"])
    return fig


def _gather(db, cal, area, period, week, need, now) -> Figures:
    f.ensure_fresh(db, cal, [w for ws in need.values() for w in ws], now)
    weeks = f.totals(db, area, sorted({w for ws in need.values() for w in ws}))
    latest = weeks.get(need["period"][-1], Counter())
    fig = Figures(area=area, period=period, week=week, schools=f.schools(db, area),
                  teachers=latest["teachers"], active=latest["active"],
                  meetings=f.meetings(db, area, need["period"]),
                  visit=f.needing_visit(db, area, need["visit"], limit=0)[0],
                  month=f.month_of(week) if period == week else period)
    _add(fig, weeks, need["period"])
    fig.assessments, fig.levels = _levels(weeks, need["month"])
    fig.last_assessments, fig.last_levels = _levels(weeks, need["last_month"])
    return fig


def behind(db: Session, area: Area, weeks: list[str]) -> list[tuple[str, int, int]]:
    """The area's upazilas with rostered teachers, the least practice first: the smallest share
    of reflections answered 'tried' (none sent counts as none tried), then the fewest schools
    with a meeting, then by name. [(upazila, tried, asked)], BEHIND_SHOWN of them."""
    per = f.totals(db, area, weeks, by_upazila=True)
    held = f.meetings(db, area, weeks, by_upazila=True)
    counts = f.schools(db, area, by_upazila=True)
    ranked = []
    for upazila, by_week in per.items():
        total = sum(by_week.values(), Counter())
        if not total["teachers"]:
            continue
        share = total["tried"] / total["asked"] if total["asked"] else 0.0
        ranked.append((share, held.get(upazila, 0) / max(counts.get(upazila, 1), 1), upazila,
                       total["tried"], total["asked"]))
    ranked.sort()
    return [(u, t, a) for _, _, u, t, a in ranked[:BEHIND_SHOWN]]


def visit_list(db: Session, cal: Calendar, area: Area, week: str, now: datetime
               ) -> tuple[int, list[tuple[str, str]]]:
    """(how many, the first VISIT_LISTED (emis, name)) schools of the area needing a visit."""
    weeks = f.school_weeks_back(cal, week, f.VISIT_WEEKS)
    f.ensure_fresh(db, cal, weeks, now)
    return f.needing_visit(db, area, weeks, limit=VISIT_LISTED)
