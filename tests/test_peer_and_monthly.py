"""Peer learning and the monthly re-assessment: a partner in the same school each month, a
colleague's consented reflection every fortnight (anonymous unless they agreed to be named),
and the same five learners asked for again each month with a guide to the levels."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.campaigns import fanout as campaign
from bot.campaigns.cycle import STORY_SEGMENTS, pairs
from bot.channels.segments import count
from bot.store.models import Answer, CampaignRun, FlowRun, Person, School

NOW = datetime.fromisoformat("2026-12-02T15:00:00+06:00")  # Wednesday of 2026-W49


def rows(rt, name):
    with rt.db.session() as db:
        return db.execute(select(CampaignRun).where(CampaignRun.campaign == name)
                          .order_by(CampaignRun.person_id)).scalars().all()


def run(rt, name, now, work):
    campaign.plan(rt, name, rt.calendar.week_of(now), now, immediately=True)
    campaign.dispatch(rt, now, force=True, hand_over=campaign.deliver)
    work()


def school(rt, emis, upazila, names, now, onboarded=True):
    with rt.db.session() as db:
        s = School(emis=emis, name=f"স্কুল {emis}", upazila=upazila, district="ভোলা")
        db.add(s)
        db.flush()
        people = [Person(phone=f"+880171{emis[-3:]}{i:04d}", name=name, role="teacher",
                         school_id=s.id, language="bn", channel="sms", created_at=now,
                         onboarded_at=now if onboarded else None)
                  for i, name in enumerate(names)]
        db.add_all(people)
        db.flush()
        return [(p.id, p.phone) for p in people]


# --- pairs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9])
def test_everyone_has_a_partner_and_meets_everyone_over_the_rounds(n):
    ids = list(range(10, 10 + n))
    met = {i: set() for i in ids}
    rounds = n - 1 if n % 2 == 0 else n
    for r in range(rounds):
        found = pairs(ids, r)
        assert set(found) == set(ids) and all(found[i] != i and found[i] in ids for i in ids)
        for a, b in found.items():
            met[a].add(b)
    assert all(met[i] == set(ids) - {i} for i in ids)


def test_each_teacher_is_sent_a_partner_from_their_own_school(rt, twilio, work):
    first = school(rt, "94000001", "চরফ্যাশন", ["ক", "খ", "গ"], NOW)
    alone = school(rt, "94000002", "চরফ্যাশন", ["ঘ"], NOW)
    school(rt, "94000003", "চরফ্যাশন", ["ঙ"], NOW, onboarded=False)
    at = datetime.fromisoformat("2026-12-08T10:00:00+06:00")  # the month's 6th school day
    run(rt, "pair", at, work)
    names = {"ক", "খ", "গ"}
    sent = {m["To"]: m["Body"] for m in twilio.messages()}
    assert set(sent) == {phone for _, phone in first}
    for (pid, phone), name in zip(first, ["ক", "খ", "গ"]):
        partner = sent[phone].split("আপনার জুটি: ")[1].split("।")[0]
        assert partner in names - {name}
        assert "৫ মিনিট কথা বলুন" in sent[phone]
    assert [r.note for r in rows(rt, "pair") if r.person_id == alone[0][0]] == ["no_partner"]
    assert {r.week for r in rows(rt, "pair")} == {"2026-12"}


# --- stories ----------------------------------------------------------------------------------

def reflection(rt, person_id, agreed, worked, when, activity="1.2", learned=None):
    with rt.db.session() as db:
        run = FlowRun(person_id=person_id, flow="reflection", status="completed",
                      session={"fields": {"activity": activity}}, started_at=when)
        db.add(run)
        db.flush()
        for name, value in (("tried", "yes"), ("learned", learned), ("worked", worked),
                            ("share_upazila", agreed)):
            if value is not None:
                db.add(Answer(run_id=run.id, field=name, value=value, created_at=when))
        return run.id


def story_week(rt, now):
    """A week the fortnightly story runs in, from `now` on."""
    week = rt.calendar.week_of(now)
    while rt.campaigns["story"].period_for_week(rt.calendar, week) is None:
        week = rt.calendar.next_week(week)
    return week


def test_a_consented_reflection_is_relayed_in_the_upazila_anonymous_unless_named(
        rt, twilio, work, clock):
    clock.current = NOW
    (author, _), (reader, reader_phone) = school(rt, "95000001", "চরফ্যাশন", ["রাবেয়া", "সালমা"],
                                                 NOW)
    ((far, far_phone),) = school(rt, "95000002", "বাঘাইছড়ি", ["মিতালী"], NOW)
    reflection(rt, author, "anonymous", "তালির পরে সবাই নিজেরাই গুনতে চাইল", NOW - timedelta(days=1))
    week = story_week(rt, NOW)
    clock.current = rt.calendar.at(rt.calendar.week_days(week)[2], NOW.timetz().replace(
        tzinfo=None))
    run(rt, "story", clock(), work)
    sent = {m["To"]: m["Body"] for m in twilio.messages()}
    assert sent == {reader_phone: "সহকর্মীর গল্প: চরফ্যাশন উপজেলার একজন শিক্ষক 'তালি গুনি' কাজটি "
                                  "করে লিখেছেন: \"তালির পরে সবাই নিজেরাই গুনতে চাইল\""}
    assert "রাবেয়া" not in sent[reader_phone]  # anonymous: not even her school
    notes = {r.person_id: r.note for r in rows(rt, "story")}
    assert notes[author] == "no_story" and notes[far] == "no_story"  # not her own, not far


def test_a_named_story_names_the_teacher_and_none_is_relayed_twice(rt, twilio, work, clock):
    (author, _), (reader, reader_phone) = school(rt, "96000001", "চরফ্যাশন", ["রাবেয়া", "সালমা"],
                                                 NOW)
    reflection(rt, author, "named", "জোড়ায় জোড়ায় গোনা খুব ভালো কাজ করেছে", NOW)
    reflection(rt, author, "no", "এটা যেন কাউকে না পাঠানো হয়, ব্যক্তিগত", NOW)
    week = story_week(rt, NOW)
    clock.current = rt.calendar.at(rt.calendar.week_days(week)[2], NOW.timetz().replace(
        tzinfo=None))
    run(rt, "story", clock(), work)
    (story,) = [m["Body"] for m in twilio.messages() if m["To"] == reader_phone]
    assert story.startswith("সহকর্মীর গল্প: রাবেয়া 'তালি গুনি'")
    clock.current += timedelta(weeks=2)  # the next story fortnight: nothing new to tell
    twilio.clear()
    run(rt, "story", clock(), work)
    assert twilio.messages() == []
    assert [r.note for r in rows(rt, "story") if r.person_id == reader] == [None, "no_story"]


def test_a_long_story_is_cut_at_a_word_to_fit_two_segments(rt, twilio, work, clock):
    (author, _), (reader, reader_phone) = school(rt, "97000001", "চরফ্যাশন", ["রাবেয়া", "সালমা"],
                                                 NOW)
    long = " ".join(["শিশুরা খুব আনন্দ নিয়ে পাথর গুনেছে"] * 12)
    reflection(rt, author, "anonymous", long, NOW, activity="9.5")
    week = story_week(rt, NOW)
    clock.current = rt.calendar.at(rt.calendar.week_days(week)[2], NOW.timetz().replace(
        tzinfo=None))
    run(rt, "story", clock(), work)
    (story,) = [m["Body"] for m in twilio.messages()]
    assert story.endswith("…\"") and count(story).segments <= STORY_SEGMENTS
    assert "শিশুরা খুব আনন্দ নিয়ে পাথর গুনেছে" in story


def test_a_short_answer_is_no_story(rt, twilio, work, clock):
    (author, _), _ = school(rt, "98000001", "চরফ্যাশন", ["রাবেয়া", "সালমা"], NOW)
    reflection(rt, author, "named", "ভালো", NOW, learned="ok")
    week = story_week(rt, NOW)
    clock.current = rt.calendar.at(rt.calendar.week_days(week)[2], NOW.timetz().replace(
        tzinfo=None))
    run(rt, "story", clock(), work)
    assert twilio.messages() == []


# --- the monthly re-assessment -----------------------------------------------------------------

def test_the_month_asks_for_the_same_five_learners_with_a_guide_and_reports_the_change(
        rt, roster, tw, twilio, work, clock):
    rahima, suchitra = "+8801711000001", "+8801711000004"
    clock.current = datetime.fromisoformat("2026-11-24T10:00:00+06:00")
    for phone in (rahima, suchitra):
        for text in ("hi", "1", "1"):
            tw.sms(phone, text)
            work()
    for text in ("A 2 3 1 1 0", "1"):
        tw.sms(rahima, text)
        work()
    twilio.clear()
    clock.current = datetime.fromisoformat("2026-12-03T10:00:00+06:00")  # 3rd school day
    run(rt, "reassess", clock(), work)
    sent = {}
    for m in twilio.messages():
        sent.setdefault(m["To"], []).append(m["Body"])
    guide = "কীভাবে বুঝবেন: ১-৯ পড়তে না পারলে ০; ১-৯ পড়লে ১; ১০-৯৯ পড়লে ২; ২৮+১৫ পারলে ৩; ৪২-১৭ পারলে ৪"
    assert sent[rahima] == ["এক মাস হলো! আগের সেই পাঁচজনের স্তর আবার দেখুন, একই ক্রমে। "
                            "গতবার: ২ ৩ ১ ১ ০। এভাবে পাঠান: A ২ ৩ ১ ১ ০", guide]
    assert sent[suchitra][0].startswith("এ মাসে ক্লাসের পাঁচজনের স্তর দেখুন") and \
        sent[suchitra][1] == guide
    assert count(guide).segments == 2 and len(sent[rahima]) == 2  # one message of guide
    for text in ("A 3 3 2 1 0", "1"):
        tw.sms(rahima, text)
        work()
    assert "গতবারের তুলনায় ২ জন উপরের স্তরে উঠেছে, ৩ জন একই স্তরে আছে" in \
        twilio.messages()[-1]["Body"]
    assert {r.week for r in rows(rt, "reassess")} == {"2026-12"}


def test_the_guide_names_every_level_of_the_level_file(rt):
    import re

    from bot.i18n import ascii_digits

    for lang in ("bn", "en", "bn-Latn"):
        guide = ascii_digits(rt.catalogues.text("assessment.guide", lang))
        ends = re.findall(r"(\d)(?:;|$)", guide)
        assert [int(d) for d in ends] == rt.levels.numbers_allowed, lang
