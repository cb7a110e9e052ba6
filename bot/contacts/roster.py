"""Roster import: who the service talks to, from a CSV the programme office keeps.

Columns: phone,name,role,school_emis,school_name,upazila,district,language,channel.
Teachers and headteachers name their school; officers a district and an upazila, or a district
only (the district officer); ambassadors an upazila and its district (jurisdiction.py).
A row is matched to an existing person by E.164 phone, so a re-import updates instead of
duplicating. Language and channel are the starting choice only: once a person exists, what they
chose themselves (in onboarding) is kept. Bad rows are reported with their line number and
skipped; good rows still land.

Cells are compared as NFC text with spaces collapsed (an upazila typed with ড + nukta is the
upazila typed with ড়). A school is placed by its rows' upazila and district: two rows of one
file that place it differently are an error (the second is skipped), and a row that leaves them
empty keeps where the school is. A school placed elsewhere than before is in `Report.moved`
(`sathi roster import` then sums the upazilas' past weeks again: digests.rollup). Phone numbers
must be mobiles: a landline takes no SMS.
"""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import CHANNELS, LANGUAGES, ROLES, Person, School
from .jurisdiction import AREA_ROLES
from .phones import InvalidPhone, e164, is_mobile

COLUMNS = ("phone", "name", "role", "school_emis", "school_name", "upazila", "district",
           "language", "channel")
DEMO_NAME = "demo_roster.csv"  # in the flows directory: `sathi serve` loads it on first start
LONGEST = {"name": 200, "school_name": 200, "school_emis": 32, "upazila": 100,
           "district": 100}  # letters a column holds (store/models.py): longer is a line error
PLACE = ("upazila", "district")  # the columns that put a school, and who sees it, somewhere


class Reason(str):
    """Why a row was refused, in English (what `sathi roster import` prints), with a `code`
    and its `params` so that the console can say it in the staff's language."""

    code: str
    params: dict

    def __new__(cls, code: str, english: str, **params):
        self = super().__new__(cls, english.format(**params))
        self.code, self.params = code, params
        return self


class RowError(ValueError):
    def __init__(self, code: str, english: str, **params):
        super().__init__(code)
        self.reason = Reason(code, english, **params)

    def __str__(self) -> str:
        return str(self.reason)


REASONS = ("missing_columns", "duplicate_phone", "invalid_phone", "not_mobile", "too_long",
           "school_needs_place", "school_two_places", "no_name", "bad_role",
           "bad_language", "bad_channel", "needs_school", "officer_needs_district",
           "ambassador_needs_area")  # every Reason.code


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, Reason]] = field(default_factory=list)  # (line, reason)
    moved: set[str] = field(default_factory=set)  # EMIS of schools now in another upazila

    def summary(self) -> str:
        return (f"{self.created} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.errors)} rejected")


def import_csv(db: Session, path: Path, now: datetime) -> Report:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return import_rows(db, csv.DictReader(f), now)


def import_rows(db: Session, reader: csv.DictReader, now: datetime) -> Report:
    report = Report()
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        report.errors.append((1, Reason("missing_columns", "missing columns: {columns}",
                                        columns=", ".join(missing))))
        return report
    schools = {s.emis: s for s in db.execute(select(School)).scalars()}
    people = {p.phone: p for p in db.execute(select(Person)).scalars()}
    seen: dict[str, int] = {}
    placed: dict[str, tuple[int, str, str]] = {}  # emis -> (line, upazila, district) this file
    for row in reader:
        line = reader.line_num
        row = {k: clean(v) for k, v in row.items() if k}
        try:
            values = _validate(row)
        except RowError as e:
            report.errors.append((line, e.reason))
            continue
        phone = values["phone"]
        if phone in seen:
            report.errors.append((line, Reason("duplicate_phone",
                                               "phone {phone} is also on line {line}",
                                               phone=phone, line=seen[phone])))
            continue
        emis = row["school_emis"]
        school = schools.get(emis) if emis else None
        if emis and not (row["upazila"] and row["district"]):
            if school is None:  # a new school nobody could see
                report.errors.append((line, Reason(
                    "school_needs_place", "school {emis} needs its upazila and district",
                    emis=emis)))
                continue
            row["upazila"], row["district"] = school.upazila, school.district  # kept as it is
        if emis in placed and placed[emis][1:] != (row["upazila"], row["district"]):
            first, upazila, district = placed[emis]
            report.errors.append((line, Reason(
                "school_two_places",
                "school {emis} is in {upazila}, {district} on line {first}, not {other}, "
                "{other_district}", emis=emis, upazila=upazila, district=district, first=first,
                other=row["upazila"], other_district=row["district"])))
            continue
        seen[phone] = line
        if emis:
            placed.setdefault(emis, (line, row["upazila"], row["district"]))
            if school is None:
                school = schools[emis] = School(emis=emis)
                db.add(school)
            school.name = row["school_name"] or school.name or emis
            if school.id is not None and (school.upazila, school.district) != (
                    row["upazila"], row["district"]):
                report.moved.add(emis)  # its past figures must follow it (digests.rollup)
            school.upazila, school.district = row["upazila"], row["district"]
        person = people.get(phone)
        if person is None:
            person = people[phone] = Person(phone=phone, created_at=now,
                                            language=values["language"],
                                            channel=values["channel"])
            db.add(person)
            report.created += 1
            changed = True
        else:
            changed = False
        for attr, value in [("name", values["name"]), ("role", values["role"]),
                            ("upazila", row["upazila"] or None),
                            ("district", row["district"] or None), ("school", school)]:
            if getattr(person, attr) != value:
                setattr(person, attr, value)
                changed = True
        if person.id is not None:
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
    db.flush()
    return report


def clean(value: str | None) -> str:
    """A cell as the service compares it: NFC (a Bangla letter typed as one code point or as a
    letter and a nukta is one letter), spaces collapsed, so two rows naming one upazila agree."""
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def _validate(row: dict) -> dict:
    try:
        phone = e164(row["phone"])
    except InvalidPhone:
        raise RowError("invalid_phone", "invalid phone number {phone!r}",
                       phone=row["phone"]) from None
    if not is_mobile(phone):
        raise RowError("not_mobile", "{phone!r} is not a mobile number (it cannot take an SMS)",
                       phone=row["phone"])
    for column, most in LONGEST.items():
        if len(row[column]) > most:
            raise RowError("too_long", "{column} is longer than {most} letters",
                           column=column, most=most)
    if not row["name"]:
        raise RowError("no_name", "name is empty")
    role = row["role"].lower()
    if role not in ROLES:
        raise RowError("bad_role", "role {value!r} is not one of {allowed}",
                       value=row["role"], allowed=", ".join(ROLES))
    # any case: "bn-latn" is the romanised Bangla "bn-Latn"
    language = {code.lower(): code for code in LANGUAGES}.get((row["language"] or "bn").lower())
    if language is None:
        raise RowError("bad_language", "language {value!r} is not one of {allowed}",
                       value=row["language"], allowed=", ".join(LANGUAGES))
    channel = (row["channel"] or ("voice" if role == "headteacher" else "sms")).lower()
    if channel not in CHANNELS:
        raise RowError("bad_channel", "channel {value!r} is not one of {allowed}",
                       value=row["channel"], allowed=", ".join(CHANNELS))
    if role not in AREA_ROLES and not row["school_emis"]:
        raise RowError("needs_school", "a {role} needs a school_emis", role=role)
    # an upazila is named with its district (upazila names repeat across districts)
    if role == "officer" and not row["district"]:
        raise RowError("officer_needs_district", "an officer needs a district (and an "
                       "upazila, unless they are the district's officer)")
    if role == "ambassador" and not (row["upazila"] and row["district"]):
        raise RowError("ambassador_needs_area", "an ambassador needs an upazila and its "
                       "district")
    return {"phone": phone, "name": row["name"], "role": role, "language": language,
            "channel": channel}
