"""The weekly cycle's preparations: what a campaign's flow needs to know before it starts.

A campaign in flows/campaigns.yaml may name one (`prepare:`); like a flow's actions, they are a
small registry of named functions (the runtime adds the digests' to these: bot/runtime.py).
Each gets a `Preparing` and returns the flow's fields, or raises `Skip` with the reason the row
is skipped.

    next_activity  settle the teacher's last reflection (the campaign named by `settles`): its
                   'tried' answer decides the welcome-back variant, and an open one is closed;
                   then pick the next activity: after an assessment, the first not yet given
                   that suits the class's level and grade (Content.by_need); with none, the
                   sequence in order. Where a teacher is lives in the `cycle` table.
    week_activity  the activity the teacher was given this week (a nudge); none: skipped,
                   because a teacher who joined mid-week starts with next week's nudge. The
                   nudge's wait for the plan ends (the week has moved on), and the day the
                   teacher planned is named when it has come (the reflection: "বুধবারের ক্লাসে").
                   A reminder (a campaign that `follows_plan`) held up past the planned day,
                   or until after the week's reflection, is skipped as `late`.
    invitation     the version of the invitation's texts, kept as the row's variant and in the
                   consent of whoever replies (bot/contacts/consent.py).
    last_assessment  the monthly re-assessment: the teacher's last five levels, to enter the
                   same learners again in the same order; none: asked for a first one.
    partner        the monthly pairing: a partner in the same school, rotating each month.
    peer_story     the fortnightly story: one consented reflection of another teacher in the
                   upazila (of the same district: upazila names repeat), named only if they
                   agreed, never one that holds a phone number or a link; none: skipped.
    school_week    the headteacher's check-in: this week in their school (digests/figures.py,
                   the one place it is counted), their teachers' questions (at most
                   MAX_QUESTIONS, marked forwarded; the rest wait for next week) and this
                   week's leadership tip, the themes taking turns week by week.

For a person on voice the preparation runs when the call is answered (ivr/), not when the
campaign row is delivered: the figures are fresh, and nothing is used up by an unheard call.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from babel.lists import format_list
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ..assessment import records
from ..assessment.levels import Scale
from ..channels.segments import count
from ..contacts.jurisdiction import Area, schools_in
from ..digests import figures
from ..flows.definition import Flow, message_keys
from ..i18n import DEFAULT_LANGUAGE, N_, Catalogues, babel_locale, weekday_name
from ..msgs import questions, session
from ..store.models import Answer, Assessment, CampaignRun, Cycle, FlowRun, Person, School
from .calendar import Calendar, parse_week
from .campaign import EPOCH_WEEK, Campaign
from .content import Activity, Content, Tip, activity_fields, text_in

ENCOURAGE_AFTER = 3  # weeks running not tried (or unanswered) before the encouraging nudge
MAX_QUESTIONS = 3  # teachers' questions read out in one check-in; the rest wait a week
TRIED = ("yes", "partly")  # reflection answers that count as having tried the activity
VERSION_LENGTH = 12  # hex digits of an invitation's text version (campaign_run.variant)
STORY_WEEKS = 4  # a relayed story comes from a reflection of the last four weeks
STORY_MIN_CHARS = 12  # an answer shorter than this ("ok", "ভালো") is not a story
STORY_SEGMENTS = 2  # the story, quote trimmed to fit, stays within this many SMS segments
STORY_QUOTES = ("worked", "learned")  # the reflection's answers a story quotes, best first
SHARE_UPAZILA = "share_upazila"  # the reflection's consent to pass it on in the upazila
LATE = "late"  # the note on a reminder skipped because its day, or the reflection, went by


class Skip(Exception):
    """This row is not sent; str() is the note kept on it (e.g. 'no_nudge')."""


@dataclass
class Preparing:
    db: Session
    person: Person
    row: CampaignRun
    campaign: Campaign
    content: Content
    now: datetime
    calendar: Calendar | None = None
    catalogues: Catalogues | None = None
    flow: Flow | None = None  # the flow the campaign starts
    levels: Scale | None = None
    campaigns: dict | None = None  # every campaign, by id (the digests find the reflection's)


def given_activities(db: Session, person_id: int) -> set[str]:
    """The activities this teacher has been given by the weekly cycle, ever."""
    return set(db.execute(select(CampaignRun.activity).distinct().where(
        CampaignRun.person_id == person_id, CampaignRun.activity.is_not(None))).scalars())


def latest_assessment(db: Session, person_id: int) -> Assessment | None:
    return db.execute(select(Assessment).where(Assessment.person_id == person_id)
                      .order_by(Assessment.taken_at.desc(), Assessment.id.desc())
                      .limit(1)).scalar_one_or_none()


def next_activity(p: Preparing) -> dict:
    """Settle the last reflection, then pick this week's activity and how to say it."""
    db, person, now = p.db, p.person, p.now
    cycle = db.get(Cycle, person.id)
    if cycle is None:
        cycle = Cycle(person_id=person.id, position=0, missed=0, updated_at=now)
        db.add(cycle)
    for reflection in db.execute(select(CampaignRun).where(
            CampaignRun.person_id == person.id, CampaignRun.campaign == p.campaign.settles,
            CampaignRun.status == "sent")).scalars():
        tried = db.execute(select(Answer.value).where(
            Answer.run_id == reflection.flow_run_id, Answer.field == "tried")
            .order_by(Answer.id.desc()).limit(1)).scalar()
        cycle.missed = 0 if tried in TRIED else cycle.missed + 1
        flow_run = db.get(FlowRun, reflection.flow_run_id)
        if flow_run is not None and flow_run.status == session.ACTIVE:
            # no answer by the next nudge closes the reflection
            session.end(flow_run, "unanswered" if tried is None else "expired", now)
        reflection.status = "closed"
    activity = _by_need(p) or p.content.activities[cycle.position % len(p.content.activities)]
    variant = ("encourage" if cycle.missed >= ENCOURAGE_AFTER
               else "after_skip" if cycle.missed >= 1 else "normal")
    cycle.position += 1
    cycle.updated_at = now
    return {**activity_fields(activity, person.language), "activity": activity.id,
            "variant": variant}


def _by_need(p: Preparing) -> Activity | None:
    """After an assessment: the first activity not yet given that suits the class's level (where
    most of the five learners are) and grade. No assessment: None, and the sequence goes on."""
    latest = latest_assessment(p.db, p.person.id)
    if latest is None:
        return None
    level = records.focus(records.levels_of(latest))
    return p.content.by_need(level, latest.grade, given_activities(p.db, p.person.id))[0]


def week_activity(p: Preparing) -> dict:
    """This week's activity, as the teacher's nudge gave it. The nudge's wait for the plan ends
    here (the reminder or the reflection has come); the planned day is named once it has come."""
    given = p.db.execute(select(CampaignRun).where(
        CampaignRun.week == p.row.week, CampaignRun.person_id == p.person.id,
        CampaignRun.activity.is_not(None)).order_by(CampaignRun.id).limit(1)).scalar()
    if given is None:  # joined mid-week: their cycle starts with next week's nudge
        raise Skip("no_nudge")
    activity = p.content.activity(given.activity)
    fields = {**activity_fields(activity, p.person.language), "activity": activity.id,
              "variant": given.variant}
    nudge = p.db.get(FlowRun, given.flow_run_id) if given.flow_run_id else None
    if nudge is not None and nudge.status == session.ACTIVE:
        session.end(nudge, "expired", p.now)  # the Plan step is over
    planned = _answer(p.db, given.flow_run_id, "plan_day")
    if p.campaign.follows_plan:
        _not_late(p)
    if planned and p.calendar is not None:
        day = date.fromisoformat(planned)
        if day <= p.calendar.local(p.now).date() and p.calendar.is_school_day(day):
            fields.update(planned="yes", day=weekday_name(day, p.person.language))
    return fields


def _not_late(p: Preparing) -> None:
    """A reminder held up (workers down, a queue backed up) is skipped as `late` once the day
    it was planned for (the teacher's planned day, or the campaign's own) has passed, or once
    the week's reflection has gone: "remember the activity?" after the class it was for, or
    after "did you try it?", is only noise. A reminder a few hours late on its day still goes
    (and so does the one the teacher was promised after planning a day already past)."""
    if p.calendar is not None and p.row.planned_at is not None and (
            p.calendar.local(p.row.planned_at).date() < p.calendar.local(p.now).date()):
        raise Skip(LATE)
    reflections = figures.reflection_campaigns(p.campaigns) if p.campaigns else ()
    if reflections and p.db.execute(select(CampaignRun.id).where(
            CampaignRun.person_id == p.person.id, CampaignRun.week == p.row.week,
            CampaignRun.campaign.in_(reflections),
            CampaignRun.status.in_(("sent", "closed"))).limit(1)).first() is not None:
        raise Skip(LATE)


def _answer(db: Session, run_id: int | None, name: str) -> str | None:
    """The last answer to `name` in a run."""
    if run_id is None:
        return None
    return db.execute(select(Answer.value).where(Answer.run_id == run_id, Answer.field == name)
                      .order_by(Answer.id.desc()).limit(1)).scalar()


def invitation(p: Preparing) -> dict:
    """The version of the invitation's texts in the person's language: a hash of every text its
    flow can say, so a change of wording gives a new version."""
    language, cats = p.person.language, p.catalogues
    texts = [f"{key}={cats.template(key, language) or cats.template(key, DEFAULT_LANGUAGE)}"
             for key in sorted(set(message_keys(p.flow)))]
    version = hashlib.sha256("\n".join([language, *texts]).encode("utf-8")).hexdigest()
    return {"variant": version[:VERSION_LENGTH]}


def last_assessment(p: Preparing) -> dict:
    """The teacher's last five levels, to re-assess the same learners in the same order."""
    latest = latest_assessment(p.db, p.person.id)
    if latest is None:
        return {"assessed": "no"}
    return {"assessed": "yes", "previous": " ".join(str(v) for v in records.levels_of(latest)),
            "grade": latest.grade}


def partner(p: Preparing) -> dict:
    """A partner in the same school, from the roster's onboarded teachers who have not opted
    out. Pairs rotate month by month (a round robin), so teachers see different colleagues; with
    an odd number, one makes a three with the first pair."""
    if p.person.school_id is None:
        raise Skip("no_school")
    mates = p.db.execute(select(Person.id, Person.name).where(
        Person.school_id == p.person.school_id, Person.role == "teacher",
        Person.onboarded_at.is_not(None), Person.opted_out_at.is_(None))
        .order_by(Person.id)).all()
    names = dict(mates)
    if p.person.id not in names or len(names) < 2:
        raise Skip("no_partner")
    period = p.row.week  # "2026-12" for a monthly campaign, "2026-W49" for a weekly one
    other = pairs([pid for pid, _ in mates], int(period[:4]) * 53 + int(period[-2:]))[p.person.id]
    name = names[other]
    if p.catalogues is not None:  # a long name is cut at a word, not sent as a third segment
        name = _fit(lambda n: p.catalogues.text(PAIR, p.person.language, partner=n), name)
    return {"partner": name}


def pairs(ids: list[int], round_: int) -> dict[int, int]:
    """Each id's partner in round `round_` of a round robin (the circle method): everyone meets
    everyone over len(ids) - 1 rounds. An odd one out is paired with the first pair's partner."""
    people: list[int | None] = list(ids) + ([None] if len(ids) % 2 else [])
    n = len(people)
    turn = round_ % (n - 1)
    ring = people[1:]
    ring = ring[turn:] + ring[:turn]
    order = [people[0], *ring]
    found: dict[int, int] = {}
    first = None
    for i in range(n // 2):
        a, b = order[i], order[n - 1 - i]
        if a is not None and b is not None:
            found[a], found[b] = b, a
            first = first or (a, b)
    for i in range(n // 2):
        a, b = order[i], order[n - 1 - i]
        lone = a if b is None else b if a is None else None
        if lone is not None:
            found[lone] = first[1]
    return found


PAIR = N_("peer.pair")  # the pairing's message (flows/peer_pair.yaml), to cut a name by
STORY_SOMEONE = N_("peer.someone")
STORY = N_("peer.story")  # the flow's message (flows/peer_story.yaml), to trim the quote by


def peer_story(p: Preparing) -> dict:
    """One reflection of another teacher of the upazila who agreed to pass it on, from the last
    STORY_WEEKS, not yet relayed to this teacher: who (named only if they agreed), the activity
    and their own words, trimmed so the story fits STORY_SEGMENTS."""
    area = _area(p.db, p.person)
    if area is None:
        raise Skip("no_upazila")
    upazila = area.upazila
    told = {v for v in p.db.execute(select(CampaignRun.variant).where(
        CampaignRun.person_id == p.person.id, CampaignRun.campaign == p.row.campaign,
        CampaignRun.variant.is_not(None))).scalars()}
    consents = p.db.execute(
        select(Answer.run_id, Answer.value, Person, FlowRun)
        .join(FlowRun, FlowRun.id == Answer.run_id).join(Person, Person.id == FlowRun.person_id)
        .outerjoin(School, School.id == Person.school_id)
        .where(Answer.field == SHARE_UPAZILA, Answer.value.in_(("anonymous", "named")),
               Answer.created_at >= p.now - timedelta(weeks=STORY_WEEKS),
               Person.id != p.person.id, Person.opted_out_at.is_(None),
               # the upazila with its district: upazila names repeat ("সদর")
               and_(*schools_in(area)) | (Person.school_id.is_(None)
                                          & (Person.district == area.district)
                                          & (Person.upazila == area.upazila)))
        .order_by(Answer.id.desc()).limit(50)).all()
    language = p.person.language

    def text(key: str, **params) -> str:
        return p.catalogues.text(key, language, **params)

    for run_id, agreed, author, run in consents:
        if f"r{run_id}" in told or _answer(p.db, run_id, SHARE_UPAZILA) != agreed:
            continue  # relayed already, or the teacher changed their mind
        quote = next((q.strip() for q in (_answer(p.db, run_id, f) for f in STORY_QUOTES)
                      if q and len(q.strip()) >= STORY_MIN_CHARS and relayable(q)), None)
        activity = run.session.get("fields", {}).get("activity")
        if quote is None or activity is None:
            continue
        try:
            title = text_in(p.content.activity(activity).title, language)
        except KeyError:  # an activity no longer in the content
            continue
        who = author.name if agreed == "named" else text(STORY_SOMEONE, upazila=upazila)
        return {"who": who, "title": title, "variant": f"r{run_id}",
                "quote": _fit(lambda q: text(STORY, who=who, title=title, quote=q), quote)}
    raise Skip("no_story")


def _area(db: Session, person: Person) -> Area | None:
    """The upazila (with its district) a teacher's stories come from: their school's."""
    school = db.get(School, person.school_id) if person.school_id else None
    district, upazila = ((school.district, school.upazila) if school is not None
                         else (person.district, person.upazila))
    return Area(district=district, upazila=upazila) if district and upazila else None


# what a teacher's own words must not carry to colleagues they never chose: a phone number (a
# run of eight digits or more, in either script, spaces and dashes between them allowed), a
# link or an e-mail address. Such a reflection is not relayed (it is not edited: a story is
# the teacher's words or nothing)
_NOT_RELAYED = re.compile(
    r"\d(?:[\s\-.]?\d){7,}"  # eight digits or more, one space, dash or dot between allowed
    r"|https?://|www\.|\S+@\S+\.\w+|\b\w+\.(?:com|org|net|bd|info)\b", re.IGNORECASE)


def relayable(text: str) -> bool:
    """True when a reflection may be passed on as a story: it holds no phone number, link or
    e-mail address. A learner's name cannot be told from other words: stories are not yet
    reviewed before relay (README, Peer learning)."""
    return _NOT_RELAYED.search(text) is None


def _fit(render: Callable[[str], str], quote: str) -> str:
    """The quote (or a name), cut at a word and ended with '…' if the message would need more
    than STORY_SEGMENTS with all of it."""
    if count(render(quote)).segments <= STORY_SEGMENTS:
        return quote
    words = quote.split()
    while words:
        words.pop()
        cut = " ".join(words) + "…"
        if count(render(cut)).segments <= STORY_SEGMENTS:
            return cut
    return "…"


def _monday(week: str) -> date:
    year, num = parse_week(week)
    return date.fromisocalendar(year, num, 1)


def week_tip(content: Content, week: str) -> Tip:
    """The leadership tip of a school week: the themes of leadership.yaml take turns, one a
    week, and each theme's tips in turn, so every headteacher hears the same tip that week."""
    tips = content.tips()
    themes = list(dict.fromkeys(t.theme for t in tips))
    n = (_monday(week) - _monday(EPOCH_WEEK)) // timedelta(weeks=1)
    in_theme = content.tips(themes[n % len(themes)])
    return in_theme[(n // len(themes)) % len(in_theme)]


def _names(names, language: str) -> str:
    return format_list(list(names), locale=babel_locale(language)) if names else ""


def school_week(p: Preparing) -> dict:
    """This week in the headteacher's school, their teachers' questions and a tip."""
    person, db = p.person, p.db
    if person.school_id is None:
        raise Skip("no_school")
    w = figures.school_week(db, person.school_id, p.row.week)
    asked = questions.unforwarded(db, person.school_id)[:MAX_QUESTIONS]
    questions.mark_forwarded(db, asked, p.now)
    askers = {q.person_id: db.get(Person, q.person_id).name for q in asked}
    tip = week_tip(p.content, p.row.week)
    language = person.language
    return {
        "teachers": w.teachers, "active": w.active, "answered": w.answered,
        "tried": len(w.tried), "tried_names": _names(w.tried, language),
        "any_answered": w.answered > 0, "any_tried": bool(w.tried),
        "obstacle": w.top_obstacle or "none",
        "sharers": _names(w.sharers, language), "any_sharers": bool(w.sharers),
        "questions": " ".join(f"{askers[q.person_id]}: {q.text.strip().rstrip('।.?!')}।"
                              for q in asked),
        "any_questions": bool(asked),
        "tip": text_in(tip.text, language), "tip_id": tip.id,
    }


PREPARATIONS: dict[str, Callable[[Preparing], dict]] = {
    "next_activity": next_activity,
    "week_activity": week_activity,
    "school_week": school_week,
    "invitation": invitation,
    "last_assessment": last_assessment,
    "partner": partner,
    "peer_story": peer_story,
}
