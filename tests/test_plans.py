"""The week's plan: "which class, which day?" read in Bangla, romanised Bangla or English, kept
with the week, and the reminder moved to the planned day's morning when it is a school day
still ahead; anything else is kept as text and the default day stands."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.assessment.levels import scale
from bot.campaigns import fanout as campaign
from bot.campaigns.plans import DaysError, day_words, read
from bot.config import ROOT
from bot.store.models import Answer, CampaignRun, FlowRun, Person

SCALE = scale(str(ROOT / "flows"))
DAYS = day_words(str(ROOT / "flows"))
SUNDAY = date(2026, 11, 29)  # 2026-W49
WED, THU = date(2026, 12, 2), date(2026, 12, 3)


@pytest.mark.parametrize("text, grade, day", [
    ("ক্লাস ২ বুধবার", 2, WED),
    ("ক্লাস 2 বুধবার", 2, WED),
    ("class 1 wed", 1, WED),
    ("Class two on Thursday", 2, THU),
    ("২য় শ্রেণি বৃহস্পতিবারে", 2, THU),
    ("প্রথম শ্রেণিতে কালকে", 1, date(2026, 11, 30)),
    ("kal", None, date(2026, 11, 30)),
    ("porshu", None, date(2026, 12, 1)),
    ("aj class-e", None, SUNDAY),
    ("budhbare klas 2", 2, WED),
    ("cls1 tues", 1, date(2026, 12, 1)),
    ("2", 2, None),
    ("রবিবার", None, SUNDAY),  # today, on a Sunday
    ("সোমবার ক্লাস ১-এ", 1, date(2026, 11, 30)),
    ("শনিবার", None, date(2026, 12, 5)),  # read as said; not a school day, so no reminder
    ("ok korbo", None, None),
    ("পরের সপ্তাহে দেখি", None, None),
    ("", None, None),
    ("x" * 5000, None, None),
])
def test_the_class_and_the_day_are_read_in_any_script(text, grade, day):
    plan = read(text, SUNDAY, SCALE, DAYS)
    assert (plan.grade, plan.day, plan.text) == (grade, day, text)


def test_a_weekday_is_the_next_one_on_or_after_today():
    thursday = date(2026, 12, 3)
    assert read("বুধবার", thursday, SCALE, DAYS).day == date(2026, 12, 9)  # next week's
    assert read("বৃহস্পতিবার", thursday, SCALE, DAYS).day == thursday


def test_a_day_word_that_means_two_days_is_refused(tmp_path):
    (tmp_path / "calendar").mkdir()
    text = (ROOT / "flows" / "calendar" / "days.yaml").read_text("utf-8")
    (tmp_path / "calendar" / "days.yaml").write_text(
        text.replace("sunday: [রবিবার,", "sunday: [kal, রবিবার,"), "utf-8")
    with pytest.raises(DaysError, match=r"both a weekday and a relative day: \['kal'\]"):
        day_words(str(tmp_path))


# --- through the service -------------------------------------------------------------------

PHONE = "+8801711000001"  # রহিমা বেগম
SUNDAY_9 = datetime.fromisoformat("2026-11-29T09:00:00+06:00")


def onboard_and_nudge(rt, tw, work, clock, week_start=SUNDAY_9):
    clock.current = week_start - timedelta(days=1)
    for text in ("hi", "1", "1"):
        tw.sms(PHONE, text)
        work()
    clock.current = week_start
    campaign.plan(rt, "nudge", rt.calendar.week_of(clock()), clock(), immediately=True)
    campaign.dispatch(rt, clock(), force=True)
    work()


def reminder(rt):
    with rt.db.session() as db:
        return db.execute(select(CampaignRun).where(CampaignRun.campaign == "reminder")
                          ).scalar_one_or_none()


def answers(rt, name):
    with rt.db.session() as db:
        return db.execute(select(Answer.value).where(Answer.field == name)
                          .order_by(Answer.id)).scalars().all()


def test_a_plan_moves_the_reminder_to_the_morning_of_its_day(rt, roster, tw, twilio, work,
                                                              clock):
    onboard_and_nudge(rt, tw, work, clock)
    clock.advance(hours=2)
    tw.sms(PHONE, "class 1 thursday")
    work()
    assert twilio.messages()[-1]["Body"] == \
        "ধন্যবাদ, লিখে রাখলাম! বৃহস্পতিবার সকালে কাজটি মনে করিয়ে দেব।"
    row = reminder(rt)
    local = rt.calendar.local(row.planned_at)
    assert (row.status, local.date(), local.hour) == ("planned", THU, 9)
    assert answers(rt, "plan_text") == ["class 1 thursday"]
    assert (answers(rt, "plan_grade"), answers(rt, "plan_day")) == (["1"], ["2026-12-03"])
    # Tuesday's planning leaves her row be, and sends her nothing that day
    clock.current = datetime.fromisoformat("2026-12-01T09:00:00+06:00")
    assert campaign.plan(rt, "reminder", "2026-W49", clock()).planned == 0
    assert campaign.dispatch(rt, clock() + timedelta(hours=9)) == 0


def test_an_answer_that_is_not_a_plan_is_kept_and_the_default_day_stands(
        rt, roster, tw, twilio, work, clock):
    onboard_and_nudge(rt, tw, work, clock)
    tw.sms(PHONE, "চেষ্টা করব")
    work()
    assert twilio.messages()[-1]["Body"] == \
        "ধন্যবাদ, লিখে রাখলাম! মঙ্গলবার সকালে কাজটি মনে করিয়ে দেব।"
    assert answers(rt, "plan_text") == ["চেষ্টা করব"] and answers(rt, "plan_day") == []
    assert reminder(rt) is None  # planned on Tuesday, as always


@pytest.mark.parametrize("said, why", [
    ("শুক্রবার", "a Friday is no school day"),
    ("aj", "this morning's reminder time has passed"),
])
def test_a_planned_day_that_cannot_take_the_reminder_leaves_the_default(
        rt, roster, tw, twilio, work, clock, said, why):
    onboard_and_nudge(rt, tw, work, clock)
    clock.advance(hours=4)
    tw.sms(PHONE, said)
    work()
    assert "মঙ্গলবার সকালে" in twilio.messages()[-1]["Body"], why
    assert reminder(rt) is None


def test_a_holiday_is_no_planned_day(rt, roster, tw, twilio, work, clock):
    # 2026-W51: Victory Day, Wednesday 16 December; the reminder's own day is Tuesday 15
    onboard_and_nudge(rt, tw, work, clock,
                      week_start=datetime.fromisoformat("2026-12-13T09:00:00+06:00"))
    tw.sms(PHONE, "বুধবার")
    work()
    assert "মঙ্গলবার সকালে" in twilio.messages()[-1]["Body"]
    assert answers(rt, "plan_day") == ["2026-12-16"]


def test_a_question_while_the_plan_waits_is_answered_and_the_plan_still_waits(
        rt, roster, tw, twilio, work, clock):
    onboard_and_nudge(rt, tw, work, clock)
    tw.sms(PHONE, "module 3 er video kothay pabo?")
    work()
    assert twilio.messages()[-1]["Body"].startswith("প্রশ্নটির জন্য ধন্যবাদ!")
    assert answers(rt, "plan_text") == []
    tw.sms(PHONE, "budhbar")
    work()
    assert "বুধবার সকালে" in twilio.messages()[-1]["Body"]


def test_the_reminder_ends_the_wait_for_a_plan(rt, roster, tw, twilio, work, clock):
    onboard_and_nudge(rt, tw, work, clock)
    clock.current = datetime.fromisoformat("2026-12-01T09:00:00+06:00")
    campaign.plan(rt, "reminder", "2026-W49", clock(), immediately=True)
    campaign.dispatch(rt, clock(), force=True)
    work()
    with rt.db.session() as db:
        nudge = db.execute(select(FlowRun).where(FlowRun.flow == "weekly_nudge")).scalar_one()
    assert nudge.status == "expired"
    tw.sms(PHONE, "ঠিক আছে")  # an answer to the reminder is not a plan
    work()
    assert answers(rt, "plan_text") == []


def test_the_reflection_names_a_planned_day_only_once_it_has_come(
        rt, roster, tw, twilio, work, clock):
    onboard_and_nudge(rt, tw, work, clock)
    tw.sms(PHONE, "porshu")  # Tuesday
    work()
    clock.current = datetime.fromisoformat("2026-12-03T14:00:00+06:00")
    campaign.plan(rt, "reflection", "2026-W49", clock(), immediately=True)
    campaign.dispatch(rt, clock(), force=True)
    work()
    assert twilio.messages()[-1]["Body"].startswith("পাথর গুনি: মঙ্গলবারের ক্লাসে কাজটি")


def test_the_plan_reply_points_to_the_activitys_ags_video_when_the_content_names_one(
        rt, roster, tw, twilio, work, clock):
    from dataclasses import replace

    activity = rt.content.activity("1.1")
    with_video = replace(activity, video=2)
    rt.content._by_id["1.1"] = with_video
    rt.content.activities[rt.content.activities.index(activity)] = with_video
    try:
        onboard_and_nudge(rt, tw, work, clock)
        tw.sms(PHONE, "bishudbar")
        work()
        assert twilio.messages()[-1]["Body"] == (
            "ধন্যবাদ, লিখে রাখলাম! বৃহস্পতিবার সকালে কাজটি মনে করিয়ে দেব। "
            "ভিডিও: মুক্তপাঠে আনন্দে গণিত শিখি, মডিউল ২।")
    finally:
        rt.content._by_id["1.1"] = activity
        rt.content.activities[rt.content.activities.index(with_video)] = activity


def test_plans_of_many_teachers_spread_over_the_morning(rt, clock):
    from bot.campaigns.plans import PLANNED_SPREAD, remind_on

    clock.current = SUNDAY_9
    with rt.db.session() as db:
        people = [Person(phone=f"+88017990{i:05d}", name="ক", role="teacher", language="bn",
                         channel="sms", onboarded_at=clock(), created_at=clock())
                  for i in range(200)]
        db.add_all(people)
        db.flush()
        for p in people:
            assert remind_on(db, rt.campaigns, rt.calendar, p, "2026-W49", WED, clock()) == WED
        times = db.execute(select(CampaignRun.planned_at)).scalars().all()
    start = rt.calendar.at(WED, datetime.min.time().replace(hour=9))
    assert min(times) >= start and max(times) < start + PLANNED_SPREAD
    assert len(set(times)) == 180  # one a minute over three hours


def test_a_row_the_campaign_planned_first_is_moved_not_duplicated(rt, clock):
    """save_plan and the campaign's own planning may race: the unique key keeps one row."""
    from bot.campaigns.plans import _insert

    clock.current = SUNDAY_9
    with rt.db.session() as db:
        p = Person(phone="+8801799900001", name="ক", role="teacher", language="bn",
                   channel="sms", onboarded_at=clock(), created_at=clock())
        db.add(p)
        db.flush()
        first = CampaignRun(campaign="reminder", week="2026-W49", person_id=p.id,
                            status="planned", planned_at=clock())
        db.add(first)
        db.flush()
        assert _insert(db, "reminder", "2026-W49", p.id, clock()).id == first.id
        assert db.execute(select(CampaignRun.id)).scalars().all() == [first.id]
