"""Campaigns as data: flows/campaigns.yaml, loaded, checked, and asked when each one runs.

A campaign names its audience (role and filters), cadence (weekly, fortnightly, monthly, once), a
day rule, a local start time, the flow it starts and whether it keeps to the sending window. Its
*period* is what it runs once per, for each person: a school week ("2026-W49") for weekly,
fortnightly and once campaigns, a month ("2026-12") for monthly ones. The fan-out (fanout.py)
plans one row per (campaign, period, person); this module only answers "when".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from ..contacts.jurisdiction import people_at, person_at
from ..schemas import DataFileError, line_of, load_yaml, read_text, schema_problem
from ..store.models import CHANNELS, ROLES, CampaignRun, Message, Person
from .calendar import Calendar, CalendarError, parse_week

SCHEMA_PATH = Path(__file__).resolve().parent / "campaigns.schema.json"
FILE_NAME = "campaigns.yaml"  # in SATHI_FLOWS, beside the flows it starts
EPOCH_WEEK = "2024-W01"  # fortnightly campaigns run in the weeks an even number of weeks from it
MAX_SPREAD = timedelta(hours=24)  # a `window: false` campaign's sends stay within a day
MIDDLE_WEEKDAYS = (1, 2, 3)  # Tuesday, Wednesday, Thursday: where a "middle" day may fall


class CampaignError(DataFileError):
    """A campaigns file that cannot be used; str() is 'file:line: reason'."""


HAD = ("sent", "closed")  # campaign_run statuses that mean the person got the message


@dataclass(frozen=True)
class Audience:
    roles: tuple[str, ...]
    channels: tuple[str, ...] | None = None  # None: any channel
    onboarded: bool | None = None  # True: finished onboarding; False: not yet; None: either
    wrote_in: bool | None = None  # True: has sent us a message; False: never has; None: either
    had: str | None = None  # was sent this campaign in an earlier period (an invitation)
    area: str | None = None  # upazila | district: people whose own area is of that level

    def conditions(self, period: str | None = None, after: int = 0) -> tuple:
        """SQL conditions on Person: in this audience, and not opted out. `had` counts periods
        before `period` (every period when None). `after` is the person id a page of people
        starts after: the filters on other tables are bounded by it too, so PostgreSQL's merge
        joins start there instead of at the first person (a page stays as cheap as the first)."""
        found = [Person.role.in_(self.roles), Person.opted_out_at.is_(None)]
        if self.channels:
            found.append(Person.channel.in_(self.channels))
        if self.area:
            found.extend(people_at(self.area))
        if self.onboarded is True:
            found.append(Person.onboarded_at.is_not(None))
        elif self.onboarded is False:
            found.append(Person.onboarded_at.is_(None))
        if self.wrote_in is not None:
            wrote = select(Message.id).where(Message.person_id == Person.id,
                                             Message.person_id > after,
                                             Message.direction == "in").exists()
            found.append(wrote if self.wrote_in else ~wrote)
        if self.had:
            had = select(CampaignRun.id).where(CampaignRun.person_id == Person.id,
                                               CampaignRun.person_id > after,
                                               CampaignRun.campaign == self.had,
                                               CampaignRun.status.in_(HAD))
            if period is not None:
                had = had.where(CampaignRun.week < period)
            found.append(had.exists())
        return tuple(found)

    def includes(self, person: Person) -> bool:
        """Role, channel, onboarding and opt-out on one person, without the database (the
        filters that need it, `wrote_in` and `had`, are in `conditions`)."""
        return (person.role in self.roles and person.opted_out_at is None
                and (not self.channels or person.channel in self.channels)
                and (not self.area or person_at(person, self.area))
                and (self.onboarded is None or (person.onboarded_at is not None) == self.onboarded))


@dataclass(frozen=True)
class Campaign:
    id: str
    what: str
    flow: str
    audience: Audience
    cadence: str  # weekly | fortnightly | monthly | once
    day: str | int  # first | middle | last, or the n-th school day of the month (-1: the last)
    at: time
    window: bool  # keep to the sending window, spread from `at` to its end
    spread: timedelta = timedelta(0)  # window false: sends spread over this long from `at`
    prepare: str | None = None  # a preparation in cycle.py that works out the flow's fields
    settles: str | None = None  # the campaign whose answers `prepare` settles and closes
    follows_plan: bool = False  # a teacher who planned a day gets it that morning instead
    first_contact: bool = False  # its audience never wrote in: WhatsApp by template, else SMS
    first_week: str = EPOCH_WEEK  # fortnightly: a week it runs in
    path: str = ""
    line: int = 0
    at_line: int = 0

    # -- periods ------------------------------------------------------------------------------
    def period_for_week(self, cal: Calendar, week: str) -> str | None:
        """The period a school week plans for; None when the campaign skips that week
        (the other week of a fortnight). A monthly campaign plans for the month whose day falls
        in that week, else the month the week begins in."""
        if self.cadence == "fortnightly":
            return week if _weeks_between(self.first_week, week) % 2 == 0 else None
        if self.cadence != "monthly":
            return week
        start = _sunday(week)
        months = sorted({f"{d.year}-{d.month:02d}" for d in (start + timedelta(days=i)
                                                              for i in range(7))})
        for month in months:
            day = self.day_in(cal, month)
            if day is not None and start <= day < start + timedelta(days=7):
                return month
        return months[0]

    def day_in(self, cal: Calendar, period: str) -> date | None:
        """The campaign's day in a period, or None when the period has none (a week of
        holidays, a month with fewer school days)."""
        if self.cadence == "monthly":
            year, month = (int(x) for x in period.split("-"))
            first = date(year, month, 1)
            days = [d for d in (first + timedelta(days=i) for i in range(31))
                    if d.month == month and cal.is_school_day(d)]
            n = int(self.day)
            index = n - 1 if n > 0 else len(days) + n
            return days[index] if 0 <= index < len(days) else None
        days = cal.week_days(period)
        if not days:
            return None
        if self.day == "first":
            return days[0]
        if self.day == "last":
            return days[-1] if len(days) > 1 else None
        middle = [d for d in days[1:-1] if d.weekday() in MIDDLE_WEEKDAYS]
        return middle[0] if middle else None

    def span(self, cal: Calendar, period: str | None) -> tuple[datetime, datetime] | None:
        """(start, end) of the fan-out in a period, UTC; None when there is no day for it."""
        day = self.day_in(cal, period) if period else None
        if day is None:
            return None
        start = cal.at(day, self.at)
        if not self.window:
            return start, start + self.spread
        opens, closes = cal.window(day)
        start = max(start, opens)
        return (start, closes) if start < closes else None

    def plannable_until(self, cal: Calendar, span: tuple[datetime, datetime]) -> datetime:
        """Until when a fan-out may still be planned: the end of its span inside the window;
        outside it, the end of that local day, so a cron that missed `at` still sends it."""
        if self.window:
            return span[1]
        day = cal.local(span[0]).date() + timedelta(days=1)
        return max(span[1], cal.at(day, time(0, 0)))

    def is_over(self, cal: Calendar, period: str, now: datetime) -> bool:
        """A period that has ended: its rows are skipped, never sent late. A week ends with its
        school week and a month with the month, whatever the cadence."""
        if "-W" not in period:
            local = cal.local(now)
            return period < f"{local.year}-{local.month:02d}"
        return period < cal.week_of(now)


def _sunday(week: str) -> date:
    year, num = parse_week(week)
    return date.fromisocalendar(year, num, 1) - timedelta(days=1)


def _weeks_between(a: str, b: str) -> int:
    return (_sunday(b) - _sunday(a)).days // 7


def next_runs(cal: Calendar, campaigns: dict[str, Campaign], now: datetime,
              weeks: int = 6) -> dict[str, datetime | None]:
    """Each campaign's next fan-out start at or after `now` (None if none within `weeks`)."""
    found: dict[str, datetime | None] = {name: None for name in campaigns}
    week = cal.week_of(now)
    for i in range(weeks):
        w = cal.next_week(week, i)
        for name, c in campaigns.items():
            span = c.span(cal, c.period_for_week(cal, w))
            if found[name] is None and span and span[1] > now:
                found[name] = max(span[0], now)
    return found


_DURATION = re.compile(r"^(\d+)(m|h)$")


def _duration(spec: str | None) -> timedelta:
    if not spec:
        return timedelta(0)
    n, unit = _DURATION.match(spec).groups()
    return timedelta(minutes=int(n)) if unit == "m" else timedelta(hours=int(n))


def _names(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def parse_campaigns(text: str, path: Path | str, flows=None,
                    preparations=None) -> dict[str, Campaign]:
    """Validate a campaigns file; `flows` and `preparations` are the names that exist."""
    tree, data = load_yaml(text, path, CampaignError)
    problem = schema_problem(SCHEMA_PATH, data)
    if problem:
        raise CampaignError(path, line_of(tree, problem[0]), problem[1])
    found: dict[str, Campaign] = {}
    for i, c in enumerate(data["campaigns"]):
        def refuse(field, reason):
            raise CampaignError(path, line_of(tree, ["campaigns", i, *field]), reason)

        if c["id"] in found:
            refuse(["id"], f"campaign id '{c['id']}' is used twice")
        if flows is not None and c["flow"] not in flows:
            refuse(["flow"], f"no flow '{c['flow']}' in flows/")
        roles, channels = _names(c["audience"]["role"]), c["audience"].get("channel")
        for role in roles:
            if role not in ROLES:
                refuse(["audience", "role"], f"unknown role '{role}' (one of {', '.join(ROLES)})")
        for channel in _names(channels) if channels else ():
            if channel not in CHANNELS:
                refuse(["audience", "channel"], f"unknown channel '{channel}'")
        if c.get("prepare") and preparations is not None and c["prepare"] not in preparations:
            refuse(["prepare"], f"unknown preparation '{c['prepare']}' "
                                f"(one of {', '.join(sorted(preparations))})")
        if c.get("settles") and not c.get("prepare"):
            refuse(["settles"], "'settles' needs a 'prepare' that settles")
        if c.get("follows_plan") and c["cadence"] != "weekly":
            refuse(["follows_plan"], "only a weekly campaign can follow the week's plan")
        day = c["day"]["school_day_of_month"] if isinstance(c["day"], dict) else c["day"]
        if "first_week" in c:
            try:
                parse_week(c["first_week"])
            except CalendarError as e:
                refuse(["first_week"], str(e))
            if c["cadence"] != "fortnightly":
                refuse(["first_week"], "'first_week' is for fortnightly campaigns only")
        spread = _duration(c.get("spread"))
        if spread > MAX_SPREAD:
            refuse(["spread"], f"spread {c['spread']} is longer than a day")
        hour, minute = (int(x) for x in c["at"].split(":"))
        found[c["id"]] = Campaign(
            id=c["id"], what=c["what"], flow=c["flow"],
            audience=Audience(roles, _names(channels) if channels else None,
                              c["audience"].get("onboarded"), c["audience"].get("wrote_in"),
                              c["audience"].get("had"), c["audience"].get("area")),
            cadence=c["cadence"], day=day, at=time(hour, minute), window=c["window"],
            spread=spread, prepare=c.get("prepare"),
            settles=c.get("settles"), follows_plan=c.get("follows_plan", False),
            first_contact=c.get("first_contact", False),
            first_week=c.get("first_week", EPOCH_WEEK),
            path=str(path), line=line_of(tree, ["campaigns", i]),
            at_line=line_of(tree, ["campaigns", i, "at"]))
    for i, c in enumerate(found.values()):
        if c.settles and c.settles not in found:
            raise CampaignError(path, line_of(tree, ["campaigns", i, "settles"]),
                                f"'{c.id}' settles '{c.settles}', which is not a campaign")
        had = c.audience.had
        if had and (had not in found or (found[had].cadence == "monthly")
                    != (c.cadence == "monthly")):
            raise CampaignError(path, line_of(tree, ["campaigns", i, "audience", "had"]),
                                f"'{c.id}' is for people who had '{had}', which is not a "
                                f"campaign with periods like its own (weeks or months)")
    return found


def load_campaigns(flows_dir: Path, flows=None, preparations=None,
                   cal: Calendar | None = None) -> dict[str, Campaign]:
    """flows/campaigns.yaml, checked against the flows and preparations that exist; with a
    calendar, a windowed campaign must also start before the sending window closes."""
    path = Path(flows_dir) / FILE_NAME
    if not path.exists():
        raise CampaignError(path, None, "no campaigns file")
    campaigns = parse_campaigns(read_text(path, CampaignError), path, flows, preparations)
    for c in campaigns.values():
        if cal is not None and c.window and c.at >= cal.window_end:
            raise CampaignError(path, c.at_line, f"campaign '{c.id}' starts at {c.at:%H:%M}, after "
                                              f"the sending window closes ({cal.window_end:%H:%M})")
    return campaigns
