"""People: search by phone (any way phonenumbers reads it, in either digit script) or by
school (EMIS code or name) or name; a person's messages both ways, their flow runs and answers;
opting them out or back in by the very step STOP and START take (msgs.turn.Turn.opt_out /
opt_in), under their turn lock, the confirmation sent as STOP's is.

Only the people of the account's area are ever found, listed, downloaded or opened
(contacts.jurisdiction.people_in): another area's person is "not found" (404), by URL too.
"""
from __future__ import annotations

import csv
import io
import logging
import re

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from bot import runtime
from bot.contacts.jurisdiction import people_in
from bot.contacts.phones import InvalidPhone, e164
from bot.i18n import N_, ascii_digits
from bot.msgs import outbox, session
from bot.msgs.turn import Turn
from bot.store.models import FlowRun, Message, Person, School

bp = Blueprint("people", __name__)
log = logging.getLogger(__name__)

FOUND_AT_MOST = 100  # people a search lists
MESSAGES_SHOWN = 200  # a person's latest messages
RUNS_SHOWN = 50  # a person's latest flow runs
PART_DIGITS = 4  # digits that make a search a piece of a phone number
TEXT_CHANNELS = ("sms", "whatsapp")  # the opt-out confirmation of a voice person goes by SMS
_PHONE_LIKE = re.compile(r"[+\d\s().\-]+")
WORDS = (N_("console.role.teacher"), N_("console.role.headteacher"), N_("console.role.officer"),
         N_("console.role.ambassador"), N_("console.people.dir_in"),
         N_("console.people.dir_out"))  # keys the templates build from a role or a direction


def search(db, q: str, area) -> list[Person]:
    """The area's people matching `q`: a phone number (whole: exactly; a piece of four digits
    or more: anywhere in the number), else a school's EMIS code or a piece of its name, or a
    piece of a person's name."""
    q = (q or "").strip()
    if not q:
        return []
    plain = ascii_digits(q)
    base = select(Person).where(*people_in(area)).options(selectinload(Person.school))
    if _PHONE_LIKE.fullmatch(plain):
        digits = re.sub(r"\D", "", plain)
        try:
            cond = Person.phone == e164(plain)
        except InvalidPhone:
            if len(digits) < PART_DIGITS:
                return []
            cond = Person.phone.contains(digits, autoescape=True)
        found = base.where(cond)
    else:
        schools = select(School.id).where(or_(School.emis == plain,
                                              School.name.contains(q, autoescape=True)))
        found = base.where(or_(Person.school_id.in_(schools),
                               Person.name.contains(q, autoescape=True)))
    return list(db.execute(found.order_by(Person.name, Person.id).limit(FOUND_AT_MOST))
                .scalars())


def visible(db, person_id: int) -> Person:
    """The person, if the account's area has them; 404 otherwise (never 'forbidden': that
    would tell that the number exists)."""
    person = db.execute(select(Person).where(Person.id == person_id, *people_in(g.area))
                        .options(selectinload(Person.school))).scalar_one_or_none()
    if person is None:
        abort(404)
    return person


@bp.get("/people")
def find():
    q = request.args.get("q", "")
    with runtime.current().db.session() as db:
        found = search(db, q, g.area)
    return render_template("console/people.html", q=q, found=found)


@bp.get("/people.csv")
def download():
    q = request.args.get("q", "")
    with runtime.current().db.session() as db:
        found = search(db, q, g.area)
        rows = [[p.phone, p.name, p.role, p.school.emis if p.school else "",
                 p.school.name if p.school else "", p.upazila or "", p.district or "",
                 p.language, p.channel, "yes" if p.opted_out else "no"] for p in found]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["phone", "name", "role", "school_emis", "school_name", "upazila",
                     "district", "language", "channel", "opted_out"])
    writer.writerows(rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=sathi-people.csv"})


@bp.get("/people/<int:person_id>")
def show(person_id: int):
    with runtime.current().db.session() as db:
        person = visible(db, person_id)
        messages = list(db.execute(select(Message).where(Message.person_id == person.id)
                                   .order_by(Message.created_at.desc(), Message.id.desc())
                                   .limit(MESSAGES_SHOWN)).scalars())
        runs = list(db.execute(select(FlowRun).where(FlowRun.person_id == person.id)
                               .options(selectinload(FlowRun.answers))
                               .order_by(FlowRun.started_at.desc(), FlowRun.id.desc())
                               .limit(RUNS_SHOWN)).scalars())
    return render_template("console/person.html", person=person, messages=messages, runs=runs)


def _turn(person_id: int, step: str) -> None:
    """STOP's or START's own step for the person, as a turn of its own: their lock held, the
    replies queued after the commit; 409 while a turn of theirs is under way."""
    rt = runtime.current()
    try:
        with session.locked(rt.redis, person_id), rt.db.session() as db:
            person = visible(db, person_id)
            channel = person.channel if person.channel in TEXT_CHANNELS else "sms"
            turn = Turn(db, None, rt.now(), person=person, channel=channel)
            getattr(turn, step)()
            replies = turn.reply_ids()  # written in one insert, at the first flush
    except session.Busy:
        abort(409)
    outbox.enqueue(replies, person_id)
    log.info("console: account %s: %s for person %s", g.staff.id, step, person_id)


@bp.post("/people/<int:person_id>/opt-out")
def opt_out(person_id: int):
    _turn(person_id, "opt_out")
    return redirect(url_for("console.people.show", person_id=person_id))


@bp.post("/people/<int:person_id>/opt-in")
def opt_in(person_id: int):
    _turn(person_id, "opt_in")
    return redirect(url_for("console.people.show", person_id=person_id))
