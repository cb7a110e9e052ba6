"""The school calendar: school days, holidays, the sending window, and school weeks.

Schools in Bangladesh work Sunday to Thursday. A school week is named by the ISO week of its
Monday ("2026-W48" is Sunday 22 to Thursday 26 November 2026), so operators can say `--week` the
way a diary does. Holidays come from a data file an operator updates each year; messages to
teachers go out only on school days, inside the sending window, in the school's time zone.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from ..schemas import DataFileError, load_yaml, read_text, schema_problem

SCHOOL_DAYS = (6, 0, 1, 2, 3)  # date.weekday(): Sunday, Monday, Tuesday, Wednesday, Thursday
SUNDAY = 6
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

HOLIDAYS_SCHEMA = Path(__file__).resolve().parent / "holidays.schema.json"


class CalendarError(ValueError):
    """A holiday file or window setting that cannot be used; str() says where and why."""


def parse_window(spec: str) -> tuple[time, time]:
    """'09:00-19:00' -> (09:00, 19:00)."""
    m = _WINDOW.match(spec.replace(" ", ""))
    if not m:
        raise CalendarError(f"sending window {spec!r}: write it as HH:MM-HH:MM, e.g. 09:00-19:00")
    start = time(int(m[1]), int(m[2]))
    end = time.max if m[3] == "24" else time(int(m[3]), int(m[4]))
    if end <= start:
        raise CalendarError(f"sending window {spec!r}: the end must be after the start")
    return start, end


def parse_week(spec: str) -> tuple[int, int]:
    m = _WEEK.match(spec)
    if not m:
        raise CalendarError(f"week {spec!r}: write it as YYYY-Www, e.g. 2026-W48")
    year, week = int(m[1]), int(m[2])
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise CalendarError(f"week {spec!r} does not exist") from None
    return year, week


def load_holidays(path: Path) -> dict[date, str]:
    """{date: name} from a holiday file; a bad file names the entry that is wrong."""
    path = Path(path)
    try:  # the data files' reader: file:line, keys given twice, alias bombs (json.dumps below
        # wrote out every alias: a 400-byte file took 5 s and 700 MB, one more level 10 times that)
        _, data = load_yaml(read_text(path), path)
    except OSError as e:
        raise CalendarError(f"{path}: {e}") from e
    except DataFileError as e:
        raise CalendarError(str(e)) from None
    # dates in YAML load as date objects; the schema checks their text
    problem = schema_problem(HOLIDAYS_SCHEMA, json.loads(json.dumps(data, default=str)))
    if problem:
        raise CalendarError(f"{path}: {problem[1]}")
    days: dict[date, str] = {}
    for entry in data["holidays"]:
        first = date.fromisoformat(str(entry.get("date", entry.get("from"))))
        last = date.fromisoformat(str(entry.get("date", entry.get("to"))))
        if last < first:
            raise CalendarError(f"{path}: {entry['name']}: 'to' is before 'from'")
        d = first
        while d <= last:
            days.setdefault(d, entry["name"])
            d += timedelta(days=1)
    return days


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    window_start: time
    window_end: time
    holidays: dict  # date -> name

    def is_school_day(self, d: date) -> bool:
        return d.weekday() in SCHOOL_DAYS and d not in self.holidays

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def week_of(self, moment: datetime) -> str:
        """The school week a moment belongs to (Friday and Saturday close the week before)."""
        d = self.local(moment).date()
        year, week, _ = (d + timedelta(days=1)).isocalendar()
        return f"{year}-W{week:02d}"

    def week_days(self, week: str) -> list[date]:
        """The week's school days, holidays left out, in order."""
        year, num = parse_week(week)
        sunday = date.fromisocalendar(year, num, 1) - timedelta(days=1)
        return [d for d in (sunday + timedelta(days=i) for i in range(5)) if self.is_school_day(d)]

    def next_week(self, week: str, n: int = 1) -> str:
        year, num = parse_week(week)
        d = date.fromisocalendar(year, num, 1) + timedelta(weeks=n)
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"

    def at(self, d: date, t: time) -> datetime:
        """A local date and time as an aware UTC datetime."""
        return datetime.combine(d, t, tzinfo=self.tz).astimezone(timezone.utc)

    def window(self, d: date) -> tuple[datetime, datetime]:
        return self.at(d, self.window_start), self.at(d, self.window_end)

    def in_window(self, moment: datetime) -> bool:
        local = self.local(moment)
        return (self.is_school_day(local.date())
                and self.window_start <= local.time() < self.window_end)

    def next_open(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` that is inside the window of a school day."""
        local = self.local(moment)
        d = local.date()
        for _ in range(400):  # a year and more of holidays is a broken file, not a calendar
            if self.is_school_day(d):
                start, end = self.window(d)
                if moment < start:
                    return start
                if moment < end:
                    return moment
            d += timedelta(days=1)
        raise CalendarError("no school day in the next 400 days: check the holiday file")


@lru_cache(maxsize=8)
def load(holidays_path: str, tz: str, window: str) -> Calendar:
    start, end = parse_window(window)
    return Calendar(tz=ZoneInfo(tz), window_start=start, window_end=end,
                    holidays=load_holidays(Path(holidays_path)))
