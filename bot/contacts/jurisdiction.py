"""Jurisdictions: which schools a person may see. The one scoping rule of the service.

A school belongs to an upazila and a district. An officer's roster row names a district and an
upazila (the upazila education officer, an assistant officer, a resource centre instructor) or a
district only (the district officer); a Teachers' Portal ambassador names their upazila. A
headteacher sees their own school. A console account (store.models.Staff) is read the same way:
an officer's names their district and upazila, the programme team's and an admin's the country.
Every digest, reply, export and console page asks `schools_in(area)` for the SQL conditions on
`School` (`people_in(area)` on `Person` is built on it), so no two places can disagree about who
sees what: an upazila officer never sees another upazila's school or teacher, nor a school of an
upazila with the same name in another district.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select

from ..store.models import Person, School

AREA_ROLES = ("officer", "ambassador")  # roles whose roster row names an area, not a school
WIDE_ROLES = ("admin", "programme")  # console accounts (store.models.Staff) that see the country
LEVELS = ("country", "district", "upazila", "school")  # from the widest area to the narrowest


@dataclass(frozen=True)
class Area:
    """A set of schools: the country (all None), a district, an upazila of a district, or one
    school. An upazila is always named with its district: upazila names repeat ("সদর")."""

    district: str | None = None
    upazila: str | None = None
    school_id: int | None = None

    @property
    def level(self) -> str:
        if self.school_id is not None:
            return "school"
        if self.upazila is not None:
            return "upazila"
        return "district" if self.district is not None else "country"

    @property
    def name(self) -> str:
        """The upazila's or the district's name ("" for the country or a school)."""
        return self.upazila or self.district or ""


NOWHERE = None
"""What `area_of` answers for a person who may see no area: a teacher, or an officer whose row
names none. Every caller treats it as 'show nothing', never as 'show everything'."""


def area_of(person: Person) -> Area | None:
    """The area a person (or a console account) may see, from their roster row (their
    account); None (NOWHERE) when none."""
    if person.role in WIDE_ROLES:
        return Area()
    if person.role in AREA_ROLES:
        if not person.district:
            return NOWHERE
        return Area(district=person.district, upazila=person.upazila or None)
    if person.role == "headteacher" and person.school_id is not None:
        return Area(school_id=person.school_id)
    return NOWHERE


def schools_in(area: Area | None) -> tuple:
    """SQL conditions on `School`: the schools of `area` (none at all for NOWHERE)."""
    if area is None:
        return (false(),)
    found = []
    if area.school_id is not None:
        found.append(School.id == area.school_id)
    if area.district is not None:
        found.append(School.district == area.district)
    if area.upazila is not None:
        found.append(School.upazila == area.upazila)
    return tuple(found)


def people_in(area: Area | None) -> tuple:
    """SQL conditions on `Person`: the people of `area` (a console's search and pages): those
    at a school of it (`schools_in`), and the officers and ambassadors whose own area lies in
    it. Nobody for NOWHERE."""
    if area is None:
        return (false(),)
    at_school = Person.school_id.in_(select(School.id).where(*schools_in(area)))
    if area.school_id is not None:
        return (at_school,)
    own = [Person.school_id.is_(None), Person.district.is_not(None)]
    if area.district is not None:
        own.append(Person.district == area.district)
    if area.upazila is not None:
        own.append(Person.upazila == area.upazila)
    return (or_(at_school, and_(*own)),)


def within(inner: Area, outer: Area | None) -> bool:
    """True when every school of `inner` (an upazila or a district) is one of `outer`'s: a
    district officer may open an upazila of their district, never one of another."""
    if outer is None:
        return False
    return all(getattr(outer, k) is None or getattr(outer, k) == getattr(inner, k)
               for k in ("district", "upazila", "school_id"))


def people_at(level: str) -> tuple:
    """SQL conditions on `Person`: people whose own area is of this level (a campaign audience's
    `area` filter): 'upazila' names an upazila and its district, 'district' only a district."""
    if level == "upazila":
        return (Person.district.is_not(None), Person.upazila.is_not(None))
    if level == "district":
        return (Person.district.is_not(None), Person.upazila.is_(None))
    raise ValueError(f"no people are of area level {level!r}")


def person_at(person: Person, level: str) -> bool:
    """`people_at` on one person, at send time."""
    if level == "upazila":
        return bool(person.district) and bool(person.upazila)
    if level == "district":
        return bool(person.district) and not person.upazila
    raise ValueError(f"no people are of area level {level!r}")
