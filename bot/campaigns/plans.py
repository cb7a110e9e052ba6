"""A teacher's plan for the week (Read -> Plan): which class, which day.

The nudge asks "কোন ক্লাসে কবে করবেন?". `read` finds the class (a grade of levels.yaml) and the
day in the answer, in Bangla, romanised Bangla or English, digits in either script or words:
"ক্লাস ২ বুধবার", "class 1 wed", "kal", "porshu", "২য় শ্রেণি রবিবারে". It never raises; what it
cannot read stays None, and the answer is kept as text all the same (flows/actions.py, save_plan).

`remind_on` moves the week's reminder (each campaign with `follows_plan`) to the morning of the
planned day, when that is a school day of the week still ahead; otherwise the default day stands.
The words for days are data: flows/calendar/days.yaml.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..assessment.levels import Scale, fold
from ..i18n import ascii_digits
from ..schemas import DataFileError, load_yaml, read_text, schema_problem
from ..store.models import CampaignRun, Person
from . import due
from .calendar import Calendar
from .campaign import Campaign

SCHEMA_PATH = Path(__file__).resolve().parent / "days.schema.json"
DAYS_FILE = Path("calendar") / "days.yaml"  # under the flows directory
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""days.yaml's weekday names, in date.weekday() order."""
PREFIX_MIN = 4  # a day word this long also matches with an ending: বুধবারে, budhbare
ENDING_MAX = 3  # letters such an ending may have
ORDINAL_ENDINGS = frozenset({"য়", "য়", "ম", "st", "nd", "rd", "th"})  # ২য়, ১ম, 2nd
ORDINAL_WORDS = {"প্রথম": 1, "prothom": 1, "protham": 1, "first": 1,
                 "দ্বিতীয়": 2, "দ্বিতীয়": 2, "ditio": 2, "dwitio": 2, "ditiyo": 2, "second": 2}
"""Class grades said as ordinals: "প্রথম শ্রেণি", "second class"."""
PLANNED_SPREAD = timedelta(hours=3)  # reminders moved to a planned day go out over its morning


class DaysError(DataFileError):
    """flows/calendar/days.yaml cannot be used; str() is 'file:line: reason'."""


@dataclass(frozen=True)
class DayWords:
    weekdays: dict  # folded word -> date.weekday()
    relative: dict  # folded word -> days from today

    def day(self, word: str, today: date) -> date | None:
        """The date a word means, counted from `today`: a weekday on or after it, or today + n.
        A whole word first, then a stem with an ending (বুধবারে, kalke)."""
        for exact in (True, False):
            weekday = _lookup(self.weekdays, word, exact)
            if weekday is not None:
                return today + timedelta(days=(weekday - today.weekday()) % 7)
            n = _lookup(self.relative, word, exact)
            if n is not None:
                return today + timedelta(days=n)
        return None


def _lookup(table: dict, word: str, exact: bool) -> int | None:
    if exact:
        return table.get(word)
    stems = [k for k in table if len(k) >= PREFIX_MIN and word.startswith(k)
             and 0 < len(word) - len(k) <= ENDING_MAX]
    return table[max(stems, key=len)] if stems else None


@lru_cache(maxsize=4)
def day_words(flows_dir: str) -> DayWords:
    path = Path(flows_dir) / DAYS_FILE
    try:
        text = read_text(path, DaysError)  # bytes that are not UTF-8: refused, with the line
    except OSError as e:
        raise DaysError(path, None, str(e)) from e
    _, data = load_yaml(text, path, DaysError)
    problem = schema_problem(SCHEMA_PATH, data)
    if problem:
        raise DaysError(path, None, problem[1])
    weekdays, relative = {}, {}
    named = ((WEEKDAYS.index(n), w) for n, w in data["weekdays"].items())
    counted = ((int(n), w) for n, w in data["relative"].items())
    for table, entries in ((weekdays, named), (relative, counted)):
        for value, words in entries:
            for word in words:
                if table.setdefault(fold(word), value) != value:
                    raise DaysError(path, None, f"the word '{word}' means two days")
    clash = set(weekdays) & set(relative)
    if clash:
        raise DaysError(path, None, f"a word is both a weekday and a relative day: {sorted(clash)}")
    return DayWords(weekdays, relative)


@dataclass(frozen=True)
class Plan:
    text: str
    grade: int | None = None
    day: date | None = None


_TOKEN = re.compile(r"(?P<digit>[0-9]+)|(?P<word>[a-z]+|[\u0980-\u09FF\u200c\u200d]+|[^\W\d_]+)")
"""The assessment's tokens (assessment.entry), but a number is one token: "class 10" is no
class 1 followed by a 0, as the assessment's "A 23110" is five levels."""


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ('digit', '12') or ('word', 'budhbar'), both digit scripts."""
    text = fold(ascii_digits(unicodedata.normalize("NFC", text or "")))
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]


def read(text: str, today: date, scale: Scale, days: DayWords) -> Plan:
    """The class and the day a plan names; either may be None."""
    toks = tokens(text)
    day = next((d for kind, word in toks if kind == "word"
                for d in [days.day(word, today)] if d is not None), None)
    return Plan(text=text, grade=_grade(toks, scale), day=day)


def _grade(toks: list[tuple[str, str]], scale: Scale) -> int | None:
    def value(tok):
        kind, word = tok
        if kind == "digit":
            return int(word)
        return scale.numbers.get(word, ORDINAL_WORDS.get(word))

    grade_word = [kind == "word" and (word in scale.grade_words or any(
        len(g) >= PREFIX_MIN and word.startswith(g) and len(word) - len(g) <= ENDING_MAX
        for g in scale.grade_words)) for kind, word in toks]  # শ্রেণিতে, ক্লাসে
    for i, tok in enumerate(toks):
        v = value(tok)
        if v not in scale.grades:
            continue
        after = i + 1
        if after < len(toks) and toks[after][0] == "word" and toks[after][1] in ORDINAL_ENDINGS:
            after += 1  # ২য় শ্রেণি, 2nd class
        if (i > 0 and grade_word[i - 1]) or (after < len(toks) and grade_word[after]):
            return v
    if len(toks) == 1 and value(toks[0]) in scale.grades:  # "2" alone answers "which class?"
        return value(toks[0])
    return None


def _morning(cal: Calendar, campaign: Campaign, day: date, person_id: int) -> datetime:
    """When a campaign that follows the plan goes on a planned day: from its start (inside the
    window), spread over PLANNED_SPREAD by the person, so a planned day brings no burst."""
    start = cal.at(day, campaign.at)
    if campaign.window:
        start = max(start, cal.window(day)[0])
    return start + timedelta(minutes=person_id % int(PLANNED_SPREAD.total_seconds() // 60))


def remind_on(db: Session, campaigns: dict[str, Campaign], cal: Calendar, person: Person,
              week: str, day: date | None, now: datetime) -> date | None:
    """Move the week's row of each campaign that follows the plan to the morning of `day`, when
    `day` is a school day of `week` and that morning is still ahead (a row already on its way
    stays). Returns the local day the reminder will come, or None when none is ahead."""
    coming: list[date] = []
    for c in campaigns.values():
        if not c.follows_plan or not c.audience.includes(person):
            continue
        period = c.period_for_week(cal, week)
        if period is None:
            continue
        row = _row(db, c.id, period, person.id)
        at = _morning(cal, c, day, person.id) if day in cal.week_days(week) else None
        waiting = row is not None and row.status == "planned" and due.waiting(db, row.id)
        if at is not None and at > now and cal.in_window(at):
            if row is None:
                row = _insert(db, c.id, period, person.id, at)
                waiting = row.status == "planned" and due.waiting(db, row.id)
            if waiting:
                row.planned_at = at
                due.put_row(db, row)
        if row is not None:
            if waiting and row.planned_at > now:
                coming.append(cal.local(row.planned_at).date())
        else:
            span = c.span(cal, period)
            if span is not None and span[1] > now:
                coming.append(cal.local(max(span[0], now)).date())
    return min(coming) if coming else None


def _row(db: Session, campaign: str, period: str, person_id: int) -> CampaignRun | None:
    return db.execute(select(CampaignRun).where(
        CampaignRun.campaign == campaign, CampaignRun.week == period,
        CampaignRun.person_id == person_id)).scalar_one_or_none()


def _insert(db: Session, campaign: str, period: str, person_id: int,
            at: datetime) -> CampaignRun:
    """The row, planned for `at` and due; if the campaign's own planning got there first,
    that row."""
    try:
        with db.begin_nested():
            row = CampaignRun(campaign=campaign, week=period, person_id=person_id,
                              status="planned", planned_at=at)
            db.add(row)
            due.put_row(db, row)
    except IntegrityError:
        row = _row(db, campaign, period, person_id)
    return row
