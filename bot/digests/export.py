"""`sathi export weekly`: the figures behind the digests, one CSV row per school and week, read
from the weekly rollup (figures.py) in one statement that pivots it with GROUP BY, streamed.
No phone numbers, no names of people; schools are scoped by jurisdiction.schools_in.
"""
from __future__ import annotations

import csv
from typing import IO, Iterator

from sqlalchemy import and_, case, func, literal, select, true, union_all
from sqlalchemy.orm import Session

from ..contacts.jurisdiction import Area, schools_in
from ..store.models import OBSTACLES, Checkin, Figure, School
from . import figures as f

BASE = ("week", "school_emis", "school_name", "upazila", "district")
COUNTS = ("teachers", "active", "joined", "opted_out", "asked", "answered", "tried", "shared")
CHECKIN = ("meeting", "practised", "walks", "foundation_lessons")  # empty: not reported
STREAM = 1_000  # rows fetched from the database at a time


def columns(levels: list[int]) -> tuple[str, ...]:
    return (BASE + COUNTS + tuple(f"obstacle_{c}" for c in OBSTACLES) + (f.ASSESSMENTS,)
            + tuple(f"level_{n}" for n in levels) + CHECKIN)


def _metrics(levels: list[int]) -> dict[str, str]:
    """CSV column -> metric name in the rollup."""
    return {**{c: c for c in COUNTS}, **{f"obstacle_{c}": f.OBSTACLE + c for c in OBSTACLES},
            f.ASSESSMENTS: f.ASSESSMENTS, **{f"level_{n}": f"{f.LEVEL}{n}" for n in levels}}


def rows(db: Session, area: Area | None, weeks: list[str], levels: list[int]) -> Iterator[dict]:
    """One dict per school of the area and week, weeks oldest first, schools by EMIS code."""
    if not weeks:
        return
    metrics = _metrics(levels)
    pivot = (select(Figure.week, Figure.school_id,
                    *[func.sum(case((Figure.metric == m, Figure.value), else_=0)).label(col)
                      for col, m in metrics.items()])
             .where(Figure.week.in_(weeks)).group_by(Figure.week, Figure.school_id).subquery())
    wk = union_all(*[select(literal(w).label("week")) for w in weeks]).subquery()
    q = (select(wk.c.week, School.emis, School.name, School.upazila, School.district,
                *[func.coalesce(pivot.c[col], 0) for col in metrics],
                Checkin.meeting, Checkin.practised, Checkin.walks, Checkin.foundation_lessons)
         .select_from(wk).join(School, true())
         .outerjoin(pivot, and_(pivot.c.week == wk.c.week, pivot.c.school_id == School.id))
         .outerjoin(Checkin, and_(Checkin.week == wk.c.week, Checkin.school_id == School.id))
         .where(*schools_in(area)).order_by(wk.c.week, School.emis)
         .execution_options(yield_per=STREAM))
    names = columns(levels)
    for row in db.execute(q):
        yield {k: ("" if v is None else int(v) if isinstance(v, bool) else v)
               for k, v in zip(names, row)}


def write_csv(out: IO[str], rows_: Iterator[dict], levels: list[int]) -> int:
    writer = csv.DictWriter(out, fieldnames=columns(levels), lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows_:
        writer.writerow(row)
        n += 1
    return n
