"""Missed calls ("flash calls"): a known number that calls the service is not answered but
rejected with a busy tone, so the caller pays nothing, and is called back within a minute with
a menu (flows/callback.yaml).

At most SATHI_CALLBACKS_PER_DAY call backs per person a day (Asia/Dhaka), and none while one is
still owed (queued, ringing or talking): someone who rings twenty times in a minute is called
back once. A number not on the roster, or a person who opted out, gets none. Every missed call
is kept (a `call` row, inbound, unique on its CallSid), so a request Twilio repeats makes one
call back. One that meets a database that is down is still rejected, and kept in Redis until
the dialer's sweep can record it (and call back).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot import runtime
from bot.campaigns.content import activity_fields
from bot.contacts.phones import InvalidPhone, e164
from bot.logs import mask
from bot.msgs.spool import storage_down
from bot.msgs.calls import CALLBACK, DONE, MISSED, queue_call
from bot.store.models import Call, CampaignRun, Message, Person

log = logging.getLogger(__name__)

FLOW = "callback"  # the menu a call back runs
DEADLINE = 3.0  # seconds the missed-call webhook waits on the database (Twilio's limit is 15)
OWED_FOR = timedelta(minutes=30)  # a call back with no news this long (its report lost: the
# dialer's sweep settles it) no longer stops the person asking for another
KEPT = "sathi:missed:kept"  # Redis list of missed calls that met a database that was down
REPLAY_AT_ONCE = 100  # kept missed calls recorded in one sweep
DIGEST_KEYS = "digest.%"  # an officer's digests are the messages whose key starts so (issue 12)


def missed(form: dict, now: datetime | None = None) -> int | None:
    """Record a missed call (that came at `now`); returns the id of the call back it earns, or
    None."""
    rt = runtime.current()
    now = now or rt.now()
    sender = form.get("From", "")
    try:
        sender = e164(sender)
    except InvalidPhone:
        pass  # kept as given; no person will match
    with rt.db.session(deadline=DEADLINE) as db:
        # the person's row locked: two missed calls at the same moment earn one call back
        person = db.execute(select(Person).where(Person.phone == sender)
                            .with_for_update()).scalar_one_or_none()
        row = Call(direction="in", purpose=MISSED, person_id=person.id if person else None,
                   address=sender[:40], status="rejected",
                   provider_sid=(form.get("CallSid") or "")[:64] or None,
                   attempts=0, api_errors=0, step=0, silences=0, created_at=now, updated_at=now)
        try:
            with db.begin_nested():
                db.add(row)
        except IntegrityError:
            log.info("missed call %s from %s already recorded", form.get("CallSid"), mask(sender))
            return None
        why = _no_callback(db, rt, person, now)
        if why:
            row.note = why
            log.info("missed call from %s: no call back (%s)", mask(sender), why)
            return None
        back = queue_call(db, person=person, purpose=CALLBACK, flow=FLOW, now=now)
        row.note = f"call back {back.id}"
        return back.id


def keep(form: dict) -> bool:
    """The database is down: keep the missed call in Redis (KEPT), to be recorded, and called
    back, when it is up (`replay_kept`, from the dialer's sweep). False if Redis is down too."""
    rt = runtime.current()
    item = {"CallSid": form.get("CallSid", ""), "From": form.get("From", ""),
            "at": rt.now().isoformat()}
    try:
        rt.redis.rpush(KEPT, json.dumps(item))
    except RedisError:
        log.exception("a missed call could not be kept either")
        return False
    return True


def replay_kept(rt: runtime.Runtime) -> list[int]:
    """Record the missed calls `keep` held, oldest first; the ids of the call backs they earn
    (still due: the dialer claims them). One the database still cannot take goes back."""
    backs: list[int] = []
    for _ in range(REPLAY_AT_ONCE):
        raw = rt.redis.lpop(KEPT)
        if raw is None:
            break
        item = json.loads(raw)
        try:
            back = missed(item, now=datetime.fromisoformat(item["at"]))
        except SQLAlchemyError as e:
            if storage_down(e):
                rt.redis.lpush(KEPT, raw)  # still down: kept, in its place
                break
            log.exception("a kept missed call could not be recorded; dropped")
            continue
        if back is not None:
            backs.append(back)
    return backs


def _no_callback(db: Session, rt: runtime.Runtime, person: Person | None,
                 now: datetime) -> str | None:
    if person is None:
        return "unknown_number"
    if person.opted_out:
        return "opted_out"
    owed = db.execute(select(Call.id).where(
        Call.person_id == person.id, Call.direction == "out", Call.purpose == CALLBACK,
        Call.status.not_in(DONE), Call.updated_at >= now - OWED_FOR).limit(1)).scalar()
    if owed is not None:
        return "callback_pending"
    midnight = rt.calendar.at(rt.calendar.local(now).date(), time(0))
    today = db.execute(select(func.count(Call.id)).where(
        Call.person_id == person.id, Call.purpose == CALLBACK,
        Call.created_at >= midnight)).scalar()
    if today >= rt.settings.callbacks_per_day:
        return "daily_limit"
    return None


def menu_fields(db: Session, rt: runtime.Runtime, person: Person, now: datetime) -> dict:
    """What the call-back menu may say, worked out when it is answered: this week's activity
    (a teacher's own; for a headteacher, their teachers'), an officer's latest digest."""
    week = rt.calendar.week_of(now)
    people = [person.id]
    if person.role == "headteacher" and person.school_id is not None:
        people = db.execute(select(Person.id).where(Person.school_id == person.school_id,
                                                    Person.role == "teacher")).scalars().all()
    given = db.execute(select(CampaignRun.activity).where(
        CampaignRun.week == week, CampaignRun.person_id.in_(people or [0]),
        CampaignRun.activity.is_not(None)).order_by(CampaignRun.id.desc()).limit(1)).scalar()
    fields: dict = {"has_activity": given is not None}
    if given is not None:
        fields.update(activity_fields(rt.content.activity(given), person.language))
    digest = db.execute(select(Message.body).where(
        Message.person_id == person.id, Message.direction == "out",
        Message.key.like(DIGEST_KEYS)).order_by(Message.id.desc()).limit(1)).scalar()
    fields.update(has_digest=digest is not None, digest=digest or "")
    return fields
