"""A small world for the digests: two districts, upazilas that share a name ("সদর" in both),
schools that practise and schools that need a visit, four school weeks of reflections,
check-ins and assessments, written straight into the tables the weekly cycle and the
check-ins fill. Nobody is onboarded unless a test says so, so a campaign reaches only the
person a transcript is about.

Weeks: 2026-W46 .. 2026-W49 (W49 is Sunday 29 November to Thursday 3 December 2026; it counts
in December, the others in November).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.store.models import (
    Answer,
    Assessment,
    AssessmentResult,
    CampaignRun,
    Checkin,
    FlowRun,
    Person,
    Question,
    School,
)

DHAKA = timezone(timedelta(hours=6))
WEEKS = ("2026-W46", "2026-W47", "2026-W48", "2026-W49")
THURSDAY = {"2026-W46": 12, "2026-W47": 19, "2026-W48": 26, "2026-W49": 33}  # day of Nov
JOINED = datetime(2026, 11, 1, 10, 0, tzinfo=DHAKA)

SCHOOLS = {  # emis: (name, upazila, district)
    "91010101": ("চরফ্যাশন সরকারি প্রাথমিক বিদ্যালয়", "চরফ্যাশন", "ভোলা"),
    "91010102": ("উত্তর চর আইচা সরকারি প্রাথমিক বিদ্যালয়", "চরফ্যাশন", "ভোলা"),
    "91010103": ("দক্ষিণ আইচা সরকারি প্রাথমিক বিদ্যালয়", "চরফ্যাশন", "ভোলা"),
    "91010104": ("নীলকমল সরকারি প্রাথমিক বিদ্যালয়", "চরফ্যাশন", "ভোলা"),
    "91020101": ("লালমোহন সরকারি প্রাথমিক বিদ্যালয়", "লালমোহন", "ভোলা"),
    "91030101": ("ভোলা সদর সরকারি প্রাথমিক বিদ্যালয়", "সদর", "ভোলা"),
    "92010101": ("রাঙ্গামাটি সদর সরকারি প্রাথমিক বিদ্যালয়", "সদর", "রাঙ্গামাটি"),
    "92020101": ("বাঘাইছড়ি সরকারি প্রাথমিক বিদ্যালয়", "বাঘাইছড়ি", "রাঙ্গামাটি"),
}

# teacher: (phone, school, {week: answers}); answers as the reflection stores them
TEACHERS = {
    "রহিমা বেগম": ("+8801911000001", "91010101", {
        w: {"tried": "yes", "share": "yes"} for w in WEEKS}),
    "আনজলি দাস": ("+8801911000002", "91010101", {
        "2026-W48": {"tried": "no", "obstacle": "materials"},
        "2026-W49": {"tried": "partly", "obstacle": "materials", "share": "no"}}),
    "কামরুল হাসান": ("+8801911000003", "91010101", {
        "2026-W47": {"tried": "no", "obstacle": "time"},
        "2026-W49": {"tried": "no", "obstacle": "time"}}),
    "সুমি আক্তার": ("+8801911000004", "91010101", {"2026-W49": {}}),  # asked, never answered
    "মাহমুদা খাতুন": ("+8801911000005", "91010102", {w: {} for w in WEEKS}),
    "জসিম উদ্দিন": ("+8801911000006", "91010102", {}),
    "শাহনাজ পারভীন": ("+8801911000007", "91010103", {"2026-W46": {"tried": "yes"}}),
    "তানিয়া সুলতানা": ("+8801911000008", "91010104", {"2026-W49": {"tried": "no",
                                                                  "obstacle": "understanding"}}),
    "মিজানুর রহমান": ("+8801911000009", "91020101", {
        "2026-W48": {"tried": "yes"}, "2026-W49": {"tried": "no", "obstacle": "time"}}),
    "রুমানা ইসলাম": ("+8801911000010", "91030101", {"2026-W49": {"tried": "yes"}}),
    "সুচিত্রা চাকমা": ("+8801911000011", "92010101", {w: {"tried": "yes"} for w in WEEKS}),
    "অং মারমা": ("+8801911000012", "92020101", {"2026-W49": {"tried": "partly"}}),
}
HEADS = {  # headteacher: (phone, school, channel)
    "মোঃ করিম উদ্দিন": ("+8801911000101", "91010101", "sms"),
    "নাজমা বেগম": ("+8801911000102", "91010104", "voice"),
    "প্রদীপ চাকমা": ("+8801911000103", "92010101", "sms"),
}
AREA_PEOPLE = {  # name: (phone, role, upazila, district, language, channel)
    "নাসরিন আক্তার": ("+8801911000201", "officer", "চরফ্যাশন", "ভোলা", "bn", "sms"),
    "ফারহানা ইয়াসমিন": ("+8801911000202", "ambassador", "চরফ্যাশন", "ভোলা", "bn",
                        "whatsapp"),
    "আবুল কালাম": ("+8801911000203", "officer", None, "ভোলা", "bn", "sms"),
    "রাশেদা পারভীন": ("+8801911000204", "officer", "সদর", "রাঙ্গামাটি", "bn", "sms"),
    "Selina Hossain": ("+8801911000205", "officer", "সদর", "ভোলা", "en", "sms"),
}
CHECKINS = {  # emis: {week: (meeting, practised)}
    "91010101": {"2026-W47": (True, True), "2026-W48": (True, False), "2026-W49": (True, True)},
    "91010104": {"2026-W48": (True, False)},
    "92010101": {w: (True, True) for w in WEEKS},
}
ASSESSMENTS = [  # (teacher, taken on, levels): November (W47, W48) and December (W49)
    ("রহিমা বেগম", datetime(2026, 11, 18, 11, 0, tzinfo=DHAKA), (3, 2, 2, 1, 0)),
    ("আনজলি দাস", datetime(2026, 11, 24, 11, 0, tzinfo=DHAKA), (2, 1, 1, 0, 0)),
    ("রহিমা বেগম", datetime(2026, 12, 2, 11, 0, tzinfo=DHAKA), (4, 3, 2, 2, 1)),
    ("মিজানুর রহমান", datetime(2026, 12, 1, 11, 0, tzinfo=DHAKA), (2, 2, 1, 1, 0)),
    ("সুচিত্রা চাকমা", datetime(2026, 12, 1, 11, 0, tzinfo=DHAKA), (4, 4, 3, 3, 2)),
]
QUESTIONS = [  # (teacher, asked at, text)
    ("আনজলি দাস", datetime(2026, 12, 2, 15, 0, tzinfo=DHAKA),
     "মডিউল ৪ এর ভিডিও ফোনে চলে না, কী করব?"),
    ("কামরুল হাসান", datetime(2026, 12, 3, 10, 0, tzinfo=DHAKA),
     "বড় ক্লাসে জোড়ায় কাজ কীভাবে করাব?"),
]


@dataclass
class World:
    people: dict = field(default_factory=dict)  # name -> person id
    schools: dict = field(default_factory=dict)  # emis -> school id
    phones: dict = field(default_factory=dict)  # name -> phone


def reflection_at(week: str) -> datetime:
    return datetime(2026, 11, 1, 14, 30, tzinfo=DHAKA) + timedelta(days=THURSDAY[week] - 1)


def build(db, onboarded: tuple[str, ...] = ()) -> World:
    """The world, with the named people onboarded (teachers always are)."""
    world = World()
    for emis, (name, upazila, district) in SCHOOLS.items():
        school = School(emis=emis, name=name, upazila=upazila, district=district)
        db.add(school)
        db.flush()
        world.schools[emis] = school.id

    def person(name, phone, role, **kw):
        p = Person(phone=phone, name=name, role=role, created_at=JOINED, **kw)
        db.add(p)
        db.flush()
        world.people[name], world.phones[name] = p.id, phone
        return p

    for name, (phone, emis, weeks) in TEACHERS.items():
        school = SCHOOLS[emis]
        t = person(name, phone, "teacher", school_id=world.schools[emis], upazila=school[1],
                   district=school[2], language="bn", channel="sms", onboarded_at=JOINED)
        for week, answers in weeks.items():
            at = reflection_at(week)
            run = FlowRun(person_id=t.id, flow="reflection", status="completed", session={},
                          started_at=at)
            db.add(run)
            db.flush()
            db.add(CampaignRun(campaign="reflection", week=week, person_id=t.id, status="sent",
                               planned_at=at, done_at=at, flow_run_id=run.id))
            for i, (key, value) in enumerate(answers.items()):
                db.add(Answer(run_id=run.id, field=key, value=value,
                              created_at=at + timedelta(minutes=10 + i)))
    for name, (phone, emis, channel) in HEADS.items():
        school = SCHOOLS[emis]
        person(name, phone, "headteacher", school_id=world.schools[emis], upazila=school[1],
               district=school[2], language="bn", channel=channel,
               onboarded_at=JOINED if name in onboarded else None)
    for name, (phone, role, upazila, district, language, channel) in AREA_PEOPLE.items():
        person(name, phone, role, upazila=upazila, district=district, language=language,
               channel=channel, onboarded_at=JOINED if name in onboarded else None)
    for emis, weeks in CHECKINS.items():
        head = next(n for n, (_, e, _) in HEADS.items() if e == emis)
        for week, (meeting, practised) in weeks.items():
            at = reflection_at(week) + timedelta(hours=2)
            db.add(Checkin(school_id=world.schools[emis], week=week,
                           person_id=world.people[head], channel="voice", meeting=meeting,
                           practised=practised, walks=1, foundation_lessons=2, created_at=at,
                           updated_at=at))
    for name, at, levels in ASSESSMENTS:
        emis = TEACHERS[name][1]
        db.add(Assessment(person_id=world.people[name], school_id=world.schools[emis],
                          upazila=SCHOOLS[emis][1], district=SCHOOLS[emis][2], grade=1,
                          channel="sms", taken_at=at,
                          results=[AssessmentResult(slot=i, level=v)
                                   for i, v in enumerate(levels, 1)]))
    for name, at, text in QUESTIONS:
        db.add(Question(person_id=world.people[name], text=text, intent="question",
                        confidence=0.9, created_at=at))
    db.flush()
    return world
