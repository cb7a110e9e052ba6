"""Hostile tests of the teachers' programme additions (issue 13): peer stories, plans and their
reminders, invitations of rostered teachers. Each test is an attack that once succeeded; it
asserts what a teacher, a headteacher or the programme office would notice."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.campaigns import fanout as campaign
from bot.contacts.roster import import_csv
from bot.i18n import ascii_digits
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


def school(rt, emis, upazila, district, names, now):
    with rt.db.session() as db:
        s = School(emis=emis, name=f"স্কুল {emis}", upazila=upazila, district=district)
        db.add(s)
        db.flush()
        people = [Person(phone=f"+880171{emis[-3:]}{i:04d}", name=name, role="teacher",
                         school_id=s.id, upazila=upazila, district=district, language="bn",
                         channel="sms", created_at=now, onboarded_at=now)
                  for i, name in enumerate(names)]
        db.add_all(people)
        db.flush()
        return [(p.id, p.phone) for p in people]


def reflection(rt, person_id, agreed, worked, when, activity="1.2"):
    with rt.db.session() as db:
        run_ = FlowRun(person_id=person_id, flow="reflection", status="completed",
                       session={"fields": {"activity": activity}}, started_at=when)
        db.add(run_)
        db.flush()
        for name, value in (("tried", "yes"), ("worked", worked), ("share_upazila", agreed)):
            db.add(Answer(run_id=run_.id, field=name, value=value, created_at=when))
        return run_.id


def story_day(rt, clock):
    week = rt.calendar.week_of(NOW)
    while rt.campaigns["story"].period_for_week(rt.calendar, week) is None:
        week = rt.calendar.next_week(week)
    clock.current = rt.calendar.at(rt.calendar.week_days(week)[2],
                                   NOW.timetz().replace(tzinfo=None))
    return clock()


# --- peer stories ------------------------------------------------------------------------------

def test_a_story_never_crosses_into_a_same_named_upazila_of_another_district(
        rt, twilio, work, clock):
    """Upazila names repeat ("সদর" in most districts): a named story of a Rangamati Sadar
    teacher must not reach a Bhola Sadar teacher (no one is named outside their upazila)."""
    ((author, _),) = school(rt, "95100001", "সদর", "রাঙ্গামাটি", ["সুচিত্রা চাকমা"], NOW)
    ((reader, reader_phone),) = school(rt, "95100002", "সদর", "ভোলা", ["রুমানা ইসলাম"], NOW)
    reflection(rt, author, "named", "পাহাড়ি পাথর দিয়ে গুনতে শিশুরা খুব মজা পেল", NOW)
    run(rt, "story", story_day(rt, clock), work)
    assert [m["Body"] for m in twilio.messages() if m["To"] == reader_phone] == []
    assert {r.person_id: r.note for r in rows(rt, "story")}[reader] == "no_story"


@pytest.mark.parametrize("quote", [
    "আমাকে ০১৭১১-২২৩৩৪৪ নম্বরে ফোন দিন, পাথর দিয়ে গোনা দারুণ কাজ করেছে",
    "call me on +8801711223344, counting with stones worked really well",
    "পাথর দিয়ে গোনা দারুণ, ভিডিও দেখুন https://example.com/x",
])
def test_a_story_that_holds_a_phone_number_or_a_link_is_not_relayed(rt, twilio, work, clock,
                                                                    quote):
    (author, _), (reader, reader_phone) = school(rt, "95200001", "চরফ্যাশন", "ভোলা",
                                                 ["রাবেয়া", "সালমা"], NOW)
    reflection(rt, author, "anonymous", quote, NOW)
    run(rt, "story", story_day(rt, clock), work)
    said = ascii_digits(" ".join(m["Body"] for m in twilio.messages()))
    assert "1711" not in said and "223344" not in said and "http" not in said


@pytest.mark.xfail(strict=True, reason="a learner's name cannot be told from other words in "
                   "a teacher's free text; stories need a reviewer's approval before relay "
                   "(not built)")
def test_a_story_that_names_a_learner_is_not_relayed(rt, twilio, work, clock):
    (author, _), (reader, reader_phone) = school(rt, "95300001", "চরফ্যাশন", "ভোলা",
                                                 ["রাবেয়া", "সালমা"], NOW)
    reflection(rt, author, "anonymous", "রাকিব আজ প্রথমবার ২০ পর্যন্ত গুনতে পারল", NOW)
    run(rt, "story", story_day(rt, clock), work)
    assert not any("রাকিব" in m["Body"] for m in twilio.messages())


# --- the plan's reminder -----------------------------------------------------------------------

PHONE = "+8801711000001"  # রহিমা বেগম, of the demo roster
SUNDAY_9 = datetime.fromisoformat("2026-11-29T09:00:00+06:00")  # 2026-W49


def onboard_nudge_and_plan(rt, tw, work, clock, plan):
    clock.current = SUNDAY_9 - timedelta(days=1)
    for text in ("hi", "1", "1"):
        tw.sms(PHONE, text)
        work()
    clock.current = SUNDAY_9
    campaign.plan(rt, "nudge", rt.calendar.week_of(clock()), clock(), immediately=True)
    campaign.dispatch(rt, clock(), force=True)
    work()
    clock.advance(hours=2)
    tw.sms(PHONE, plan)
    work()


def reminders_sent(rt, twilio):
    key = rt.catalogues.text("weekly.reminder", "bn", title="", try_it="",
                             materials="")[:12]
    return [m["Body"] for m in twilio.messages() if m["Body"].startswith(key)]


def test_a_reminder_held_up_past_its_planned_day_is_not_sent_late(rt, roster, tw, twilio,
                                                                  work, clock):
    """Planned for Monday; the workers were down until Wednesday: "did you remember the
    activity?" on Wednesday, after the class it was for, is noise. It is skipped."""
    onboard_nudge_and_plan(rt, tw, work, clock, "class 1 monday")
    before = len(reminders_sent(rt, twilio))
    clock.current = datetime.fromisoformat("2026-12-02T11:00:00+06:00")  # Wednesday
    campaign.dispatch(rt, clock())
    work()
    assert len(reminders_sent(rt, twilio)) == before
    (row,) = rows(rt, "reminder")
    assert (row.status, row.note) == ("skipped", "late")


def test_a_reminder_never_comes_after_the_weeks_reflection(rt, roster, tw, twilio, work, clock):
    onboard_nudge_and_plan(rt, tw, work, clock, "ok korbo")  # no day: the default (Tuesday)
    clock.current = datetime.fromisoformat("2026-12-01T08:30:00+06:00")
    assert campaign.plan(rt, "reminder", "2026-W49", clock()).planned == 1  # nothing sends it
    thursday = datetime.fromisoformat("2026-12-03T14:30:00+06:00")
    clock.current = thursday
    campaign.plan(rt, "reflection", "2026-W49", thursday, immediately=True)
    campaign.dispatch(rt, thursday, force=True, hand_over=campaign.deliver,
                      campaigns=["reflection"])  # the reflection went first
    work()
    twilio.clear()
    clock.advance(minutes=30)
    campaign.dispatch(rt, clock())  # the reminder, held up since Tuesday, comes after it
    work()
    assert reminders_sent(rt, twilio) == []


def test_a_reminder_late_on_its_own_day_is_still_sent(rt, roster, tw, twilio, work, clock):
    """The fix skips only what is past its day: a reminder a few hours late still helps."""
    onboard_nudge_and_plan(rt, tw, work, clock, "class 1 monday")
    clock.current = datetime.fromisoformat("2026-11-30T13:00:00+06:00")  # Monday afternoon
    campaign.dispatch(rt, clock())
    work()
    assert len(reminders_sent(rt, twilio)) == 1


# --- invitations -------------------------------------------------------------------------------

HEADER = "phone,name,role,school_emis,school_name,upazila,district,language,channel\n"


def test_a_landline_on_the_roster_is_refused_not_invited(rt, tmp_path, twilio, work, clock):
    """A school's landline (Dhaka 02-…) is a valid number but cannot take an SMS: every
    invitation to it costs money and reaches no one. The roster refuses it."""
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "029660012,অফিস ফোন,teacher,93000001,স্কুল,চরফ্যাশন,ভোলা,bn,sms\n"
                    "01711000031,রাবেয়া,teacher,93000001,স্কুল,চরফ্যাশন,ভোলা,bn,sms\n",
                    encoding="utf-8")
    with rt.db.session() as db:
        report = import_csv(db, path, clock())
    assert [line for line, _ in report.errors] == [2]
    assert "mobile" in report.errors[0][1]
    clock.current = datetime.fromisoformat("2026-12-01T10:00:00+06:00")
    run(rt, "invite", clock(), work)
    assert {m["To"] for m in twilio.messages()} == {"+8801711000031"}


def test_an_invitation_answered_with_stop_ends_every_invitation(rt, tmp_path, tw, twilio, work,
                                                               clock):
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "01711000031,রাবেয়া,teacher,93000001,স্কুল,চরফ্যাশন,ভোলা,bn,sms\n",
                    encoding="utf-8")
    with rt.db.session() as db:
        import_csv(db, path, clock())
    clock.current = datetime.fromisoformat("2026-12-01T10:00:00+06:00")
    run(rt, "invite", clock(), work)
    tw.sms("+8801711000031", "STOP")
    work()
    twilio.clear()
    clock.current += timedelta(weeks=1)
    run(rt, "invite_again", clock(), work)
    run(rt, "invite", clock(), work)
    assert twilio.messages() == []


# --- the partner's name -----------------------------------------------------------------------

def test_a_long_partner_name_does_not_make_the_pairing_a_third_segment(rt, twilio, work, clock):
    """The monthly pairing names the partner from the roster; a name as long as Bangladeshi
    names run ("মোছাম্মৎ খাদিজাতুল কোবরা আক্তারুজ্জামান চৌধুরী") made it 3 paid segments."""
    from bot.channels.segments import count

    long_name = "মোছাম্মৎ খাদিজাতুল কোবরা আক্তারুজ্জামান চৌধুরী"
    other = "মোছাম্মৎ উম্মে কুলসুম আক্তারুজ্জামান সিদ্দিকা"
    school(rt, "95400001", "চরফ্যাশন", "ভোলা", [long_name, other], NOW)
    clock.current = datetime.fromisoformat("2026-12-08T10:00:00+06:00")  # 6th school day
    run(rt, "pair", clock(), work)
    sent = [m["Body"] for m in twilio.messages()]
    assert len(sent) == 2 and all(count(body).segments <= 2 for body in sent), sent
    assert any("মোছাম্মৎ খাদিজাতুল" in body for body in sent)


def test_a_rostered_ambassador_is_invited_like_an_officer(rt, tmp_path, twilio, work, clock):
    """ICT4E ambassadors joined the roster with the digests (issue 12), but the invitation
    went to teachers, headteachers and officers only: an ambassador who never texted first
    never joined, so never got the upazila's digest or the schools to call."""
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "01711000091,ফারহানা,ambassador,,,চরফ্যাশন,ভোলা,bn,whatsapp\n",
                    encoding="utf-8")
    with rt.db.session() as db:
        assert import_csv(db, path, clock()).errors == []
    clock.current = datetime.fromisoformat("2026-12-01T10:00:00+06:00")
    run(rt, "invite", clock(), work)
    (body,) = [m["Body"] for m in twilio.messages() if m["To"].endswith("+8801711000091")]
    assert body == rt.catalogues.text("invite.officer", "bn")


# --- the plan's class ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, grade", [
    ("class 10 wed", None),  # read as class 1: the digits were taken one by one
    ("ক্লাস ১২ বুধবার", None),  # "1 and 2"? or 12? not class 1
    ("২২২২ ক্লাস", None),
    ("ক্লাস ২ বুধবার", 2),  # what a teacher writes still reads
    ("২য় শ্রেণি", 2),
])
def test_a_number_in_a_plan_is_read_whole(text, grade):
    from datetime import date

    from bot.assessment.levels import scale
    from bot.campaigns.plans import day_words, read
    from bot.config import ROOT

    flows = str(ROOT / "flows")
    assert read(text, date(2026, 11, 29), scale(flows), day_words(flows)).grade == grade


def test_a_plan_for_a_day_already_past_keeps_the_reminder_it_promised(rt, roster, tw, twilio,
                                                                       work, clock):
    """"আজ" at 11:00 on Sunday: too late for that morning, so she is told the reminder comes
    on Tuesday; on Tuesday it comes (the late-reminder rule must not eat it)."""
    onboard_nudge_and_plan(rt, tw, work, clock, "aj class 1")
    assert "মঙ্গলবার সকালে" in twilio.messages()[-1]["Body"]
    clock.current = datetime.fromisoformat("2026-12-01T08:30:00+06:00")
    campaign.plan(rt, "reminder", "2026-W49", clock())
    clock.current = datetime.fromisoformat("2026-12-01T12:00:00+06:00")  # her row is due
    campaign.dispatch(rt, clock())
    work()
    assert len(reminders_sent(rt, twilio)) == 1
