"""The dashboard: an area's school week and the 12 weeks up to it, read from the weekly
rollup the digests read (bot/digests: `area.weekly` for the week, exactly the digest's
figures, and `rollup.totals` for the weeks), so the console and the digests never disagree.
A page only reads: the cron job digests.jobs.keep_fresh works the figures out (this week every
half hour), and the page says when that was.
Charts are SVG drawn here (charts.py); every table downloads as CSV (`?table=`).

An officer sees their own district or upazila (and the upazilas of their district); the
programme team and admins choose any (`?district=&upazila=`).
"""
from __future__ import annotations

import csv
import io
from urllib.parse import quote
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import runtime
from bot.campaigns.calendar import CalendarError, parse_week
from bot.contacts.jurisdiction import Area, schools_in
from bot.digests import area as areas
from bot.digests import figures as f
from bot.digests import rollup
from bot.digests.area import Figures
from bot.digests.text import OBSTACLE_NAMES
from bot.i18n import N_, ascii_digits
from bot.store.models import OBSTACLES, School

from . import charts, text
from .auth import area_asked

bp = Blueprint("dashboard", __name__)

TABLES = ("weeks", "obstacles", "levels", "upazilas")  # what ?table= downloads as CSV


@dataclass
class Week:
    """One school week of an area, as the dashboard's weeks table shows it."""

    week: str
    teachers: int = 0  # rostered, not opted out
    active: int = 0  # of them, onboarded
    nudged: int = 0  # the week's activity nudges sent
    asked: int = 0  # reflections sent
    answered: int = 0  # said whether they tried the activity
    tried: int = 0
    checkins: int = 0  # headteachers' check-ins
    meetings: int = 0  # schools whose headteacher reported a staff meeting
    joined: int = 0
    opted_out: int = 0
    segments_ucs2: int = 0  # SMS segments sent, Bangla script
    segments_gsm: int = 0  # and English or romanised Bangla
    cost: float = 0.0  # estimated, Taka

    @property
    def segments(self) -> int:
        return self.segments_ucs2 + self.segments_gsm

    @property
    def cost_per_teacher(self) -> float | None:
        return self.cost / self.active if self.active else None


@dataclass
class Board:
    area: Area
    week: str
    figures: Figures  # the digest's figures of `week` (area.weekly)
    weeks: list[Week]  # oldest first, `week` last
    upazilas: list[tuple[str, str, Week]] = field(default_factory=list)  # (district, upazila, week)
    as_of: datetime | None = None  # when `week`'s figures were worked out (None: not yet)

    @property
    def this(self) -> Week:
        return self.weeks[-1]


def _week(name: str, c: Counter, settings) -> Week:
    seg = f.prefixed(c, f.SEGMENTS)
    row = Week(week=name, **{k: c[k] for k in ("teachers", "active", "nudged", "asked",
                                                "answered", "tried", "checkins", "meetings",
                                                "joined", "opted_out")},
               segments_ucs2=seg.get("ucs2", 0), segments_gsm=seg.get("gsm", 0))
    row.cost = row.segments_ucs2 * settings.sms_price_ucs2 + \
        row.segments_gsm * settings.sms_price_gsm
    return row


def gather(db, rt, area: Area, week: str, now) -> Board:
    """Everything the dashboard shows, in a handful of statements on the rollup as it stands
    (never worked out here: jobs.keep_fresh does that)."""
    fig = areas.weekly(db, rt.calendar, area, week, now, refresh=False)
    names = rollup.shown_weeks(rt.calendar, week)
    series = rollup.totals(db, area, names)
    board = Board(area=area, week=week, figures=fig, as_of=rollup.refreshed_at(db, week),
                  weeks=[_week(w, series.get(w, Counter()), rt.settings) for w in names])
    if area.upazila is None:
        board.upazilas = [(d, u, _week(week, c, rt.settings))
                          for (d, u), c in sorted(rollup.by_area(db, area, week).items())]
    return board


def _choices(db) -> dict[str, list[str]]:
    """{district: [upazila]} of the account's area, for the area picker."""
    out: dict[str, list[str]] = {}
    for district, upazila in db.execute(
            select(School.district, School.upazila).where(*schools_in(g.area)).distinct()
            .order_by(School.district, School.upazila)):
        out.setdefault(district, []).append(upazila)
    return out


def _asked_week(rt) -> str:
    week = ascii_digits(request.args.get("week") or "").strip().upper() or \
        rt.calendar.week_of(rt.now())
    try:
        parse_week(week)
    except (CalendarError, ValueError):
        abort(400)
    return week


def _board() -> Board:
    rt = runtime.current()
    area = area_asked(request.args.get("district"), request.args.get("upazila"))
    week = _asked_week(rt)
    with rt.db.session() as db:
        return gather(db, rt, area, week, rt.now())


@bp.get("/")
def index():
    return redirect(url_for("console.dashboard.show"))


@bp.get("/dashboard")
def show():
    rt = runtime.current()
    board = _board()
    with rt.db.session() as db:
        choices = _choices(db)
    labels = [text.digits(w.week.split("-W")[1]) for w in board.weeks]
    drawn = {
        "active": charts.bars([w.active for w in board.weeks], labels,
                              [text.num(w.active) for w in board.weeks],
                              text.t(N_("console.dash.chart_active"))),
        "rate": charts.bars([100 * w.answered / w.asked if w.asked else None
                             for w in board.weeks], labels,
                            [text.pct(w.answered, w.asked) for w in board.weeks],
                            text.t(N_("console.dash.chart_rate")), colour="#7a4f9a"),
        "segments": charts.bars([w.segments for w in board.weeks], labels,
                                [text.num(w.segments) for w in board.weeks],
                                text.t(N_("console.dash.chart_segments")), colour="#8a5a00"),
    }
    levels = sorted(set(board.figures.levels) | set(board.figures.last_levels)
                    | set(rt.levels.numbers_allowed))
    return render_template(
        "console/dashboard.html", board=board, choices=choices, drawn=drawn,
        obstacles=[(code, text.t(OBSTACLE_NAMES[code]), board.figures.obstacles.get(code, 0))
                   for code in OBSTACLES],
        levels=[(n, rt.levels.text(n, "name", text.language()) if rt.levels.get(n) else str(n),
                 board.figures.levels.get(n, 0), board.figures.last_levels.get(n, 0))
                for n in levels],
        query={k: v for k, v in request.args.items() if k in ("district", "upazila", "week")})


def _rows(board: Board, table: str, rt) -> tuple[list[str], list[list]]:
    fig = board.figures
    if table == "weeks":
        head = ["week", "teachers", "active", "nudged", "asked", "answered", "tried",
                "checkins", "meetings", "joined", "opted_out", "sms_segments_bangla",
                "sms_segments_latin", "sms_cost_taka", "sms_cost_per_active_teacher_taka"]
        return head, [[w.week, w.teachers, w.active, w.nudged, w.asked, w.answered, w.tried,
                       w.checkins, w.meetings, w.joined, w.opted_out, w.segments_ucs2,
                       w.segments_gsm, f"{w.cost:.2f}",
                       "" if w.cost_per_teacher is None else f"{w.cost_per_teacher:.2f}"]
                      for w in board.weeks]
    if table == "obstacles":
        return ["week", "obstacle", "teachers"], [[board.week, code, fig.obstacles.get(code, 0)]
                                                  for code in OBSTACLES]
    if table == "levels":
        levels = sorted(set(fig.levels) | set(fig.last_levels) | set(rt.levels.numbers_allowed))
        return (["level", "learners_this_month", "learners_last_month", "change"],
                [[n, fig.levels.get(n, 0), fig.last_levels.get(n, 0),
                  fig.levels.get(n, 0) - fig.last_levels.get(n, 0)] for n in levels])
    head = ["week", "district", "upazila", "teachers", "active", "nudged", "asked", "answered",
            "tried", "checkins", "meetings", "opted_out", "sms_segments"]
    return head, [[board.week, d, u, w.teachers, w.active, w.nudged, w.asked, w.answered,
                   w.tried, w.checkins, w.meetings, w.opted_out, w.segments]
                  for d, u, w in board.upazilas]


@bp.get("/dashboard.csv")
def download():
    table = request.args.get("table", "weeks")
    if table not in TABLES:
        abort(404)
    board = _board()
    head, rows = _rows(board, table, runtime.current())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    name = "-".join(x for x in ("sathi", table, board.area.district, board.area.upazila,
                                board.week) if x)
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}.csv"})
