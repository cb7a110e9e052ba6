"""A digest written for one person: the fields its flow says (flows/officer.yaml,
flows/head_summary.yaml). The campaign preparations, the officers' replies and
`sathi digest preview` all write it here, so the preview is what would be sent.

The fields: `text` (the first message's content), `parts` (every page, the first included),
`part` (the next page "আরো" sends), `more` ("yes" while pages are left), and what the
messages' headers name (`area`, `month`, `school`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..assessment.levels import Scale
from ..campaigns.calendar import Calendar
from ..contacts.jurisdiction import area_of, schools_in
from ..i18n import N_, Catalogues
from ..msgs import questions as kept_questions
from ..store.models import Person, School
from . import area as areas
from . import figures as f
from .compose import (
    area_pieces,
    head_pieces,
    list_head,
    list_pieces,
    question_pieces,
    school_text,
)
from .text import HEAD_NOTHING, HINT, LIST_NONE, SCHOOL_UNKNOWN, Writer, paginate, short_name

WEEKLY = {"sms": N_("digest.weekly"),  # an upazila's week: "এ সপ্তাহে: {text}"
          "whatsapp": N_("digest.weekly_full")}  # "*{area}, এ সপ্তাহে*\n{text}"
MONTHLY = {"sms": N_("digest.monthly"),  # a district's month: "{month} মাসে: {text}"
           "whatsapp": N_("digest.monthly_full")}
PAGE = N_("digest.page")  # a page after the first: "{text} — পাতা {page}/{pages}"
HEAD_SUMMARY = N_("head.summary")  # "{school}, এ সপ্তাহে: {text}"
MONTHS_LATN = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # romanised Bangla: plain ASCII


class NoArea(LookupError):
    """The person may see no area (a teacher, or an officer whose row names none)."""


class NoSchools(NoArea):
    """The person's area holds no school of the roster (an upazila renamed or misspelt on their
    row): a digest of zeros would tell them their area does nothing, so none is written."""


@dataclass(frozen=True)
class Tools:
    """What writing a digest needs from the running service."""

    catalogues: Catalogues
    calendar: Calendar
    levels: Scale
    reflections: tuple[str, ...] | None = None  # the reflection campaigns' ids, if known

    def writer(self, person: Person, channel: str) -> Writer:
        return Writer(self.catalogues, person.language, _text_channel(channel),
                      sorted(self.levels.numbers_allowed))


def _text_channel(channel: str) -> str:
    return channel if channel in ("sms", "whatsapp") else "sms"


def month_name(month: str, language: str) -> str:
    year, num = (int(x) for x in month.split("-"))
    if language == "bn-Latn":
        return MONTHS_LATN[num - 1]
    return format_date(date(year, num, 1), "MMMM", locale=language.split("-")[0])


def _paged(w: Writer, pieces: list[str], first) -> list[str]:
    def rest(body):
        return w.t(PAGE, text=body, page=99, pages=99)  # numbers reserved two digits wide
    return paginate(pieces, w.sep, first, rest, w.fits, w.t(HINT))


def _fields(parts: list[str], **extra) -> dict:
    return {"text": parts[0] if parts else "", "parts": parts, "part": 1,
            "more": "yes" if len(parts) > 1 else "", **extra}


def officer(db: Session, tools: Tools, person: Person, week: str, now: datetime,
            channel: str, month: str | None = None) -> dict:
    """An officer's or ambassador's digest: an upazila's week, or (a district officer, or
    `month` given) the district's month up to `week`."""
    area = area_of(person)
    if area is None or area.level not in ("upazila", "district"):
        raise NoArea(person.id)
    if db.execute(select(School.id).where(*schools_in(area)).limit(1)).first() is None:
        raise NoSchools(person.id)
    w = tools.writer(person, channel)
    cal = tools.calendar
    if area.level == "district" or month:
        month = month or f.month_of(week)
        fig = areas.monthly(db, cal, area, month, week, now, tools.reflections)
        header = dict(key=MONTHLY[w.channel], area=area.name,
                      month=month_name(month, w.language))
    else:
        fig = areas.weekly(db, cal, area, week, now, tools.reflections)
        header = dict(key=WEEKLY[w.channel], area=area.name, month="")
    pieces = area_pieces(w, fig, person.role, fig.listed)
    key = header.pop("key")
    parts = _paged(w, pieces, lambda body: w.t(key, text=body, **header))
    return _fields(parts, kind="digest", digest_week=week, **header)


def visit_pages(db: Session, tools: Tools, person: Person, week: str, now: datetime,
                channel: str) -> dict:
    """'সব স্কুল': the schools of the person's area that need a visit (or a call), paged; the
    first page goes out under the list's own header (digest.visit_list, digest.call_list)."""
    area = area_of(person)
    if area is None:
        raise NoArea(person.id)
    w = tools.writer(person, channel)
    total, schools = areas.visit_list(db, tools.calendar, area, week, now, tools.reflections)
    pieces = list_pieces(w, person.role, total, schools) or [
        w.t(LIST_NONE, weeks=areas.rollup.VISIT_WEEKS)]

    def rest(body):
        return w.t(PAGE, text=body, page=99, pages=99)
    parts = paginate(pieces, w.sep, lambda body: list_head(w, person.role, total, body), rest,
                     w.fits, w.t(HINT))
    return _fields(parts, count=total)


def school(db: Session, tools: Tools, person: Person, code: str, week: str, now: datetime,
           channel: str) -> str:
    """One school's week, by EMIS code, if it is in the person's area; else a polite 'not
    found' that does not say whether the school exists elsewhere."""
    w = tools.writer(person, channel)
    found = db.execute(select(School).where(School.emis == code, *schools_in(area_of(person)))
                       ).scalar_one_or_none()
    if found is None:
        return w.t(SCHOOL_UNKNOWN)
    cal = tools.calendar
    sw = f.school_week(db, found.id, week, cal)
    n, levels = f.school_levels(db, cal, found.id, f.weeks_of_month(cal, f.month_of(week),
                                                                    until=week))
    return school_text(w, found.name, sw, n, levels)


def headteacher(db: Session, tools: Tools, person: Person, week: str, now: datetime,
                channel: str, forward: bool = True) -> dict:
    """A headteacher's weekly summary of their school: who tried the activity, the obstacle
    named most, their teachers' questions (marked forwarded in the caller's transaction
    unless `forward` is False: a preview), this month's five-learner levels."""
    if person.school_id is None:
        raise NoArea(person.id)
    cal = tools.calendar
    w = tools.writer(person, channel)
    sw = f.school_week(db, person.school_id, week, cal)
    n, levels = f.school_levels(db, cal, person.school_id,
                                f.weeks_of_month(cal, f.month_of(week), until=week))
    label = short_name(person.school.name)

    def first(body):
        return w.t(HEAD_SUMMARY, school=label, text=body)
    taken = (kept_questions.take_for_summary(db, person.school_id, now) if forward
             else kept_questions.unforwarded(db, person.school_id))
    askers = dict(db.execute(select(Person.id, Person.name).where(
        Person.id.in_({q.person_id for q in taken}))).all()) if taken else {}
    asked = question_pieces(w, [(askers.get(q.person_id, ""), q.text) for q in taken])
    pieces = head_pieces(w, sw, asked, levels, n, lambda piece: w.fits(first(piece)))
    parts = _paged(w, pieces or [w.t(HEAD_NOTHING)], first)
    return _fields(parts, kind="head", school=label, digest_week=week)
