"""Placing the calls owed (bot/msgs/calls.py) and trying again until they reach the person.

    dispatch  (cron, every DIAL_EVERY s) claims the calls that are due, queued -> placing, and
              enqueues one `place` job each; campaign calls only inside the sending window
    place     (RQ job) checks the person still wants calls, takes the caller number's next
              slot (one call rate per number, shared by all workers), asks the Calls API, and
              records the try: ringing, or back to queued (the API said later, or the request
              never reached it), or failed; when the request went out and no answer came,
              the try stays dialling until its first status callback (never placed twice)
    on_status a status callback: the try rang, was answered, ended; an ended try that did not
              reach the person (no-answer, busy, failed, an answering machine, or cut off before
              its flow ended) is tried again on SATHI_CALL_RETRIES, else given up (unreached)
    on_amd    answering machine detection: on a machine, `leave_message` leaves a short message
              (SATHI_VOICEMAIL=message) or hangs up; the try counts as not reached
    sweep     (cron) a claimed call whose job was lost goes back to queued; a try we never
              heard the end of is fetched from Twilio and settled; missed calls kept while
              the database was down are recorded (their call backs are then due)

The try's number and the call's id are in every webhook URL (urls.py), so a status callback
that beats our record of the CallSid still finds its call, and a report about an earlier try
is recorded without being acted on. Every try and every report is a `CallAttempt` row.
"""
from __future__ import annotations

import logging
import random
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import runtime
from bot.campaigns.calendar import Calendar
from bot.channels.base import Failed, RetryLater, Sent, Unknown
from bot.channels.simulator import SID_PREFIX as SIMULATED
from bot.channels.twilio_voice import CallState, OutgoingCall
from bot.logs import mask
from bot.msgs import session
from bot.msgs.calls import CALLBACK, CAMPAIGN, DONE
from bot.msgs.ratelimit import SLEEP_MAX, SenderRate
from bot.store.models import Call, CallAttempt, CampaignRun, FlowRun, Person

from . import callback, urls
from .conversation import SKIPPED, voices
from .prompts import VOICEMAIL, prompts_of
from .speech import voice_language
from .twiml import Hangup, render

log = logging.getLogger(__name__)

WEBHOOK_DEADLINE = 3.0  # seconds a status or AMD callback, or a call back's claim, may wait
# on the database (a database that hangs does not hold a web worker)
DIAL_EVERY = 15  # seconds between looks for calls that are due (cron)
SWEEP_EVERY = 60  # seconds between looks for calls whose job or whose end we lost (cron)
CLAIM = 500  # calls claimed in one look
STUCK = timedelta(minutes=2)  # a call claimed or dialling this long without news lost its job
SILENT = timedelta(minutes=30)  # a try with no report this long is fetched from Twilio
ON_ANOTHER_CALL = timedelta(minutes=2)  # a campaign call's wait while its person is on another
MAX_API_ERRORS = 5  # Calls API refusals for now (429, 5xx, network) before a call is given up
API_BACKOFF = 30.0  # seconds before asking the Calls API again, doubled each time
NEXT_SCHOOL_DAY = "next_school_day"
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")  # Twilio's ended statuses
INT_MAX = 2 ** 31 - 1  # the largest number an INTEGER column holds
RATE_KEY = "call:{}"  # the caller number's rate, apart from the SMS sent from the same number
_WAIT = re.compile(r"^(\d+)([mh])$")


class RetryScheduleError(ValueError):
    """SATHI_CALL_RETRIES that cannot be read; str() says which entry and why."""


def retries(spec: str) -> list[timedelta | str]:
    """'15m,1h,next_school_day' -> [15 minutes, 1 hour, NEXT_SCHOOL_DAY]: the wait before each
    retry; a call is tried at most 1 + len(...) times."""
    found: list[timedelta | str] = []
    for entry in (e.strip() for e in spec.split(",") if e.strip()):
        if entry == NEXT_SCHOOL_DAY:
            found.append(entry)
            continue
        m = _WAIT.match(entry)
        if not m:
            raise RetryScheduleError(f"SATHI_CALL_RETRIES: {entry!r} is not minutes (15m), hours "
                                     f"(1h) or {NEXT_SCHOOL_DAY}")
        found.append(timedelta(minutes=int(m[1])) if m[2] == "m" else timedelta(hours=int(m[1])))
    return found


def next_try(cal: Calendar, wait: timedelta | str, now: datetime, first: datetime) -> datetime:
    """When the next try goes: `wait` from now, or the next school day at the time of day of
    the first try; in either case inside the sending window of a school day."""
    if wait == NEXT_SCHOOL_DAY:
        day = cal.local(now).date() + timedelta(days=1)
        while not cal.is_school_day(day):
            day += timedelta(days=1)
        return cal.next_open(cal.at(day, cal.local(first).time()))
    return cal.next_open(now + wait)


# -- dispatch and place --------------------------------------------------------------------------
def dispatch(rt: runtime.Runtime | None = None, now: datetime | None = None) -> int:
    """RQ cron job: claim the calls that are due and enqueue their `place` jobs."""
    rt = rt or runtime.current()
    now = now or rt.now()
    with rt.db.session() as db:
        due = select(Call.id).where(Call.status == "queued", Call.next_attempt_at <= now)
        if not rt.calendar.in_window(now):  # a call back goes whenever it is asked for
            due = due.where(Call.purpose != CAMPAIGN)
        due = due.order_by(Call.next_attempt_at, Call.id).limit(CLAIM).with_for_update(
            skip_locked=True)
        ids = db.execute(update(Call).where(Call.id.in_(due.scalar_subquery()),
                                            Call.status == "queued")
                         .values(status="placing", updated_at=now)
                         .returning(Call.id)).scalars().all()
    for call_id in sorted(ids):
        enqueue(rt, call_id)
    return len(ids)


def enqueue(rt: runtime.Runtime, call_id: int) -> None:
    try:
        rt.queue("outbound").enqueue(place, call_id,
                                     job_id=f"call-{call_id}-{random.getrandbits(32)}")
    except Exception:  # Redis down: the call stays `placing`; `sweep` puts it back in the queue
        log.exception("could not enqueue call %s; it will be swept", call_id)


def claim_now(call_id: int) -> bool:
    """Take one queued call for placing at once (a call back), without waiting for cron."""
    rt = runtime.current()
    with rt.db.session(deadline=WEBHOOK_DEADLINE) as db:
        claimed = db.execute(update(Call).where(Call.id == call_id, Call.status == "queued")
                             .values(status="placing", updated_at=rt.now())).rowcount
    if claimed:
        enqueue(rt, call_id)
    return bool(claimed)


def place(call_id: int) -> str:
    """RQ job: place one claimed call. Returns what came of it."""
    rt = runtime.current()
    now = rt.now()
    with rt.db.session() as db:
        claimed = db.execute(update(Call).where(Call.id == call_id, Call.status == "placing")
                             .values(status="dialling", attempts=Call.attempts + 1,
                                     provider_sid=None,  # the last try's; this one has none yet
                                     updated_at=now)).rowcount
        if not claimed:
            return "skipped"
        call = db.get(Call, call_id)
        person = db.get(Person, call.person_id)
        why = _not_wanted(db, rt, call, person)
        if why:
            _give_up(db, call, "cancelled", why, now)
            return "cancelled"
        if call.purpose == CAMPAIGN and not rt.calendar.in_window(now):
            call.status, call.attempts = "queued", call.attempts - 1
            call.next_attempt_at = rt.calendar.next_open(now)
            return "later"
        if call.purpose == CAMPAIGN and _on_another_call(db, call, now):
            # they are talking to us already (a call back): ringing now would be a busy that
            # uses up a try; this one follows when that call ends
            call.status, call.attempts = "queued", call.attempts - 1
            call.next_attempt_at = now + ON_ANOTHER_CALL
            return "later"
        attempt = call.attempts
        call.address = person.phone  # the number on the roster now, not when it was queued
        out = OutgoingCall(to=call.address, url=urls.voice(rt, call, attempt),
                           status_callback=urls.status(rt, call, attempt),
                           amd_callback=urls.amd(rt, call, attempt),
                           machine_detection="DetectMessageEnd"
                           if rt.settings.voicemail == "message" else "Enable")
    adapter = rt.voice()
    caller = adapter.sender()
    if caller and rt.settings.call_rate > 0:
        later = SenderRate(rt.redis).wait_for(RATE_KEY.format(caller), rt.settings.call_rate)
        if later is not None:  # the number's slots are taken for a while: come back, no try used
            with rt.db.session() as db:
                call = db.get(Call, call_id)
                call.status, call.attempts = "queued", call.attempts - 1
                call.next_attempt_at = rt.now() + timedelta(seconds=later
                                                            + random.uniform(0, SLEEP_MAX))
            return "later"
    result = adapter.call(out)
    with rt.db.session() as db:
        call = db.get(Call, call_id)
        now = rt.now()
        code = None if isinstance(result, (Sent, Unknown)) else result.code
        db.add(CallAttempt(call_id=call.id, attempt=attempt, at=now, error_code=code,
                           outcome="placed" if isinstance(result, Sent) else
                           "unknown" if isinstance(result, Unknown) else
                           "retry" if isinstance(result, RetryLater) else "failed",
                           provider_sid=result.sid if isinstance(result, Sent) else None))
        call.updated_at = now
        if isinstance(result, Sent):
            call.provider_sid = result.sid
            if call.status == "dialling":  # a status callback may have moved it on already
                call.status = "ringing"
            log.info("call %s to %s placed (try %s)", call.id, mask(call.address), attempt)
            return "placed"
        if isinstance(result, Unknown):
            # the request went out and no answer came: Twilio may be ringing the person now.
            # Never placed again blind: the try stays `dialling`, its first status callback
            # (initiated, within seconds; the URL names the call and the try) moves it on, and
            # with no news for STUCK the sweep counts it as a try not reached
            log.warning("call %s to %s: no answer from the Calls API (%s); waiting for its "
                        "status callback", call.id, mask(call.address), result.reason)
            return "unknown"
        call.error_code = code
        if isinstance(result, RetryLater) and call.api_errors < MAX_API_ERRORS:
            call.api_errors += 1
            call.status = "queued"
            call.attempts -= 1  # refused, or never arrived: the person was not tried
            call.next_attempt_at = now + timedelta(seconds=API_BACKOFF * 2 ** (call.api_errors - 1))
            return "later"
        reason = result.reason if isinstance(result, Failed) else "api_errors"
        log.warning("call %s to %s failed: %s %s", call.id, mask(call.address), code or "",
                    reason)
        _give_up(db, call, "failed", "call_failed" if code is None else f"error {code}", now)
        return "failed"


def _on_another_call(db: Session, call: Call, now: datetime) -> bool:
    return db.execute(select(Call.id).where(
        Call.person_id == call.person_id, Call.id != call.id, Call.direction == "out",
        Call.status.in_(("dialling", "ringing", "in-progress")),
        Call.updated_at >= now - SILENT).limit(1)).first() is not None


def _not_wanted(db: Session, rt: runtime.Runtime, call: Call, person: Person | None) -> str | None:
    if person is None:
        return "no_person"
    if person.opted_out:
        return "opted_out"
    if call.campaign_run_id is not None:
        row = db.get(CampaignRun, call.campaign_run_id)
        campaign = rt.campaigns.get(row.campaign)
        if campaign is None:
            return "no_campaign"
        if not campaign.audience.includes(person):
            return "not_in_audience"
    return None


# -- what Twilio tells us ------------------------------------------------------------------------
def on_status(call_id: int, attempt: int, form: dict) -> bool:
    """A status callback of try `attempt`; False when no such call is known."""
    rt = runtime.current()
    now = rt.now()
    status = form.get("CallStatus", "")
    with rt.db.session(deadline=WEBHOOK_DEADLINE) as db:
        call = db.execute(select(Call).where(Call.id == call_id).with_for_update()).scalar()
        if call is None:
            return False
        sid, answered_by = _sid(form), _answered_by(form)
        db.add(CallAttempt(call_id=call.id, attempt=attempt, at=now, outcome="status",
                           status=status[:16], answered_by=answered_by,
                           duration=_int(form.get("CallDuration")),
                           error_code=_int(form.get("ErrorCode")), provider_sid=sid))
        if attempt != call.attempts or call.status in DONE or call.status == "queued":
            # a report about an earlier try, a call settled, or a try already ended and
            # waiting for the next (a report repeated): kept, not acted on
            return True
        call.provider_sid = call.provider_sid or sid
        call.updated_at = now
        if status in ("queued", "initiated", "ringing") and call.status in ("dialling",):
            call.status = "ringing"
        elif status in ("in-progress", "answered") and call.status in ("dialling", "ringing"):
            call.status = "in-progress"
        elif status in FINAL:
            _ended(db, rt, call, status, _int(form.get("CallDuration")), answered_by, now)
    return True


def on_amd(call_id: int, attempt: int, form: dict) -> bool:
    """Answering machine detection's verdict on try `attempt`."""
    rt = runtime.current()
    answered_by = form.get("AnsweredBy", "")
    with rt.db.session(deadline=WEBHOOK_DEADLINE) as db:
        call = db.execute(select(Call).where(Call.id == call_id).with_for_update()).scalar()
        if call is None:
            return False
        db.add(CallAttempt(call_id=call.id, attempt=attempt, at=rt.now(), outcome="amd",
                           answered_by=answered_by[:24], provider_sid=_sid(form)))
        if attempt != call.attempts or call.status in DONE or call.status == "queued":
            return True
        call.answered_by = answered_by[:24]
        machine = _machine(answered_by)
    if machine:
        rt.queue("outbound").enqueue(leave_message, call_id, attempt,
                                     job_id=f"voicemail-{call_id}-{attempt}")
    return True


def leave_message(call_id: int, attempt: int) -> str:
    """RQ job: the try reached an answering machine: leave the short message after its beep
    (SATHI_VOICEMAIL=message, when detection waited for the beep), or hang up."""
    rt = runtime.current()
    with rt.db.session() as db:
        call = db.get(Call, call_id)
        person = db.get(Person, call.person_id)
        sid, answered_by = call.provider_sid, call.answered_by or ""
        leave = rt.settings.voicemail == "message" and answered_by.startswith("machine_end")
        said = [prompts_of(rt).speech(VOICEMAIL, voice_language(person.language))] if leave else []
    result = rt.voice().redirect(sid, render(said, Hangup(), voices(rt)))
    with rt.db.session() as db:
        db.add(CallAttempt(call_id=call_id, attempt=attempt, at=rt.now(), outcome="left",
                           status="message" if leave else "hangup", provider_sid=sid,
                           error_code=None if isinstance(result, Sent) else result.code))
    return "message" if leave else "hangup"


def _ended(db: Session, rt: runtime.Runtime, call: Call, status: str, duration: int | None,
           answered_by: str | None, now: datetime) -> None:
    """A try ended: reached (its flow ended), or not: try again, or give up."""
    call.duration = duration
    call.answered_by = answered_by or call.answered_by
    run = db.get(FlowRun, call.flow_run_id) if call.flow_run_id else None
    settled = call.note == "opted_out" or (call.note or "").startswith(SKIPPED)
    # a flow that reached its end was a call that reached the person, whatever the report
    # says after it (a late or mistaken busy, no-answer or failed must not call them again)
    finished = (run is not None and run.session.get("status") == "ended"
                and not _machine(call.answered_by))  # a machine heard a flow with no question
    if settled or finished:
        call.status = "completed"
        return
    if _machine(call.answered_by):
        note = "machine"
    elif status == "completed":
        note = "cut_off" if run is not None else "no_flow"  # answered, but the flow did not end
    else:
        note = status
    schedule = retries(rt.settings.call_retries)
    if call.purpose == CALLBACK or call.attempts > len(schedule):
        _give_up(db, call, "unreached", note, now)
        return
    first = db.execute(select(CallAttempt.at).where(CallAttempt.call_id == call.id)
                       .order_by(CallAttempt.id).limit(1)).scalar() or now
    call.status, call.note = "queued", note
    call.answered_by = None
    call.next_attempt_at = next_try(rt.calendar, schedule[call.attempts - 1], now, first)
    log.info("call %s to %s not reached (%s): try %s at %s", call.id, mask(call.address), note,
             call.attempts + 1, call.next_attempt_at.isoformat())


def end_simulated(call_id: int, note: str = "simulator") -> str:
    """A call the console's simulator placed is over (hung up, ended, or never answered): it is
    completed when its flow ended, else cancelled; never tried again, so no real call follows.
    Returns its status."""
    rt = runtime.current()
    now = rt.now()
    with rt.db.session() as db:
        call = db.execute(select(Call).where(Call.id == call_id).with_for_update()).scalar_one()
        if call.status in DONE:
            return call.status
        db.add(CallAttempt(call_id=call.id, attempt=call.attempts, at=now, outcome="status",
                           status="completed", provider_sid=call.provider_sid))
        run = db.get(FlowRun, call.flow_run_id) if call.flow_run_id else None
        if run is not None and run.status != session.ACTIVE:
            call.status, call.updated_at = "completed", now
        else:
            _give_up(db, call, "cancelled", note, now)
        return call.status


def _give_up(db: Session, call: Call, status: str, note: str, now: datetime) -> None:
    call.status, call.note, call.updated_at = status, note[:32], now
    run = db.get(FlowRun, call.flow_run_id) if call.flow_run_id else None
    if run is not None and run.status == session.ACTIVE:
        session.end(run, "interrupted", now)  # what was answered stays; nobody is asked more
    if call.campaign_run_id is not None:
        row = db.get(CampaignRun, call.campaign_run_id)
        if row.status == "calling":
            why = "not_reached" if status in ("unreached", "failed") else note[:32]
            row.status, row.note, row.done_at = "skipped", why, now


def _machine(answered_by: str | None) -> bool:
    return bool(answered_by) and (answered_by.startswith("machine") or answered_by == "fax")


def _int(value) -> int | None:
    """A number Twilio sent (a duration, an error code); None when it is none, or is too big
    for the database's integer (a report like that is kept, its nonsense number is not)."""
    try:
        number = int(str(value)[:12])  # past 12 digits it cannot fit anyway
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= INT_MAX else None


def _sid(form) -> str | None:
    return (form.get("CallSid") or "")[:64] or None  # the column's width


def _answered_by(form) -> str | None:
    return (form.get("AnsweredBy") or "")[:24] or None


# -- what was lost -------------------------------------------------------------------------------
def sweep(rt: runtime.Runtime | None = None) -> int:
    """RQ cron job: calls whose job was lost go back to the queue; a try we never heard the
    end of is fetched from Twilio and settled. Returns how many calls it moved."""
    rt = rt or runtime.current()
    now = rt.now()
    moved = len(callback.replay_kept(rt))  # missed calls that met a database that was down
    with rt.db.session() as db:
        moved += db.execute(update(Call).where(Call.status == "placing",
                                               Call.updated_at < now - STUCK)
                            .values(status="queued", updated_at=now)).rowcount
        lost = db.execute(select(Call).where(Call.status == "dialling", Call.provider_sid.is_(None),
                                             Call.updated_at < now - STUCK)).scalars().all()
        for call in lost:  # the Calls API's answer never came: counted as a try not reached;
            # if Twilio did place it, its callbacks still reach this call (the URL names it)
            db.add(CallAttempt(call_id=call.id, attempt=call.attempts, at=now, outcome="failed"))
            _ended(db, rt, call, "failed", None, None, now)
            moved += 1
        silent = db.execute(select(Call.id, Call.provider_sid, Call.attempts).where(
            Call.status.in_(("dialling", "ringing", "in-progress")),
            Call.provider_sid.is_not(None), Call.provider_sid.not_like(f"{SIMULATED}%"),
            Call.updated_at < now - SILENT)).all()
        # a call the console's simulator took and left mid-way: no provider to ask, no retry
        for call in db.execute(select(Call).where(
                Call.status.in_(("dialling", "ringing", "in-progress")),
                Call.provider_sid.like(f"{SIMULATED}%"),
                Call.updated_at < now - SILENT)).scalars().all():
            _give_up(db, call, "cancelled", "simulator_left", now)
            moved += 1
    for call_id, sid, attempt in silent:
        state = rt.voice().fetch(sid)
        if isinstance(state, CallState) and state.status in FINAL:
            on_status(call_id, attempt, {"CallSid": sid, "CallStatus": state.status,
                                         "CallDuration": state.duration,
                                         "AnsweredBy": state.answered_by})
            moved += 1
    return moved
