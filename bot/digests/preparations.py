"""The digests' campaign preparations (flows/campaigns.yaml `prepare:`): each works out the
fields its flow says, for one person, when their campaign row is delivered. The runtime adds
them to the weekly cycle's (bot/runtime.py: PREPARATIONS).

    upazila_digest   an officer's or ambassador's upazila week      (flows/officer.yaml)
    district_digest  a district officer's monthly roll-up           (flows/officer.yaml)
    head_summary     a headteacher's school week, as text            (flows/head_summary.yaml)
    nominations      the fortnight's recognition, for the upazila's officers (flows/officer.yaml)
"""
from __future__ import annotations

from typing import Callable

from ..campaigns.cycle import Preparing, Skip
from ..channels.segments import count
from ..contacts.jurisdiction import area_of
from ..i18n import N_
from . import digest, recognition
from .figures import reflection_campaigns
from .text import SMS_SEGMENTS, clip, short_name

NO_MENU = {"parts": [], "part": 0, "more": ""}  # an officer flow with no pages to turn
NOMINATION = {"teacher": N_("recognition.nominate_teacher"),  # what flows/officer.yaml says
              "headteacher": N_("recognition.nominate_head")}


def _tools(p: Preparing) -> digest.Tools:
    return digest.Tools(catalogues=p.catalogues, calendar=p.calendar, levels=p.levels,
                        reflections=reflection_campaigns(p.campaigns) if p.campaigns else None)


def _channel(p: Preparing) -> str:
    return p.person.channel if p.person.channel in ("sms", "whatsapp") else "sms"


def upazila_digest(p: Preparing) -> dict:
    try:
        return digest.officer(p.db, _tools(p), p.person, p.row.week, p.now, _channel(p))
    except digest.NoSchools:
        raise Skip("no_schools") from None
    except digest.NoArea:
        raise Skip("no_area") from None


def district_digest(p: Preparing) -> dict:
    """The month is the campaign's period (a monthly campaign's row is "2026-12")."""
    try:
        return digest.officer(p.db, _tools(p), p.person, p.calendar.week_of(p.now), p.now,
                              _channel(p), month=p.row.week)
    except digest.NoSchools:
        raise Skip("no_schools") from None
    except digest.NoArea:
        raise Skip("no_area") from None


def head_summary(p: Preparing) -> dict:
    try:
        return digest.headteacher(p.db, _tools(p), p.person, p.row.week, p.now, _channel(p))
    except digest.NoArea:
        raise Skip("no_school") from None


def nominations(p: Preparing) -> dict:
    """The upazila's nominees, made by the first of its officers to get them."""
    area = area_of(p.person)
    if area is None or area.level != "upazila":
        raise Skip("no_area")
    found = {kind: rec for kind, rec in
             recognition.nominate(p.db, p.calendar, area, p.row.week, p.now).items()
             if p.db.get(type(p.person), rec.person_id).opted_out_at is None}  # left since
    if not found:
        raise Skip("no_nominee")
    fields = {"kind": "nomination", **NO_MENU, "digest_week": p.row.week}
    for kind, key in (("teacher", "teacher"), ("headteacher", "head")):
        rec = found.get(kind)
        person = p.db.get(type(p.person), rec.person_id) if rec else None
        fields.update({f"{key}_nominee": person.name if person else "",
                       f"{key}_school": short_name(person.school.name) if person and person.school
                       else "",
                       f"{key}_score": rec.score if rec else 0,
                       f"{key}_weeks": rec.weeks if rec else 0,
                       f"{key}_recognition": rec.id if rec else 0})
        if person is not None and _channel(p) == "sms":  # a long name is cut, not a 3rd segment
            fields[f"{key}_nominee"] = clip(fields[f"{key}_nominee"], lambda name: count(
                p.catalogues.text(NOMINATION[kind], p.person.language,
                                  **{**fields, f"{key}_nominee": name})).segments
                <= SMS_SEGMENTS)
    return fields


PREPARATIONS: dict[str, Callable[[Preparing], dict]] = {
    "upazila_digest": upazila_digest,
    "district_digest": district_digest,
    "head_summary": head_summary,
    "nominations": nominations,
}
