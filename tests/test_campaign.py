"""Weekly campaigns: once per (campaign, week, teacher), only in the window, never to opted-out."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.campaigns import fanout as campaign
from bot.cli import main
from bot.store.models import CampaignRun, Person, School

SUNDAY_9 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone(timedelta(hours=6)))  # 2026-W49


def teachers(rt, n, now, **overrides):
    """n onboarded teachers in one school, phones +8801811000000 onwards."""
    with rt.db.session() as db:
        school = School(emis=f"9{n:07d}", name="Test school", upazila="চরফ্যাশন", district="ভোলা")
        db.add(school)
        db.flush()
        people = [Person(phone=f"+88018110{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                         school_id=school.id, language="bn", channel="sms", onboarded_at=now,
                         created_at=now, **overrides) for i in range(n)]
        db.add_all(people)
    return [p.phone for p in people]


def rows(rt, **where):
    with rt.db.session() as db:
        q = select(CampaignRun)
        for k, v in where.items():
            q = q.where(getattr(CampaignRun, k) == v)
        return db.execute(q).scalars().all()


def test_running_the_weekly_campaign_twice_concurrently_sends_each_message_once(
        rt, twilio, work, clock):
    clock.current = SUNDAY_9
    phones = teachers(rt, 40, clock())
    barrier = threading.Barrier(2)
    errors = []

    def operator():
        try:
            barrier.wait()
            campaign.plan(rt, "nudge", "2026-W49", clock(), immediately=True)
            barrier.wait()
            # both claim at once and each delivers what it claimed, as two workers would
            campaign.dispatch(rt, clock(), force=True, hand_over=campaign.deliver)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=operator) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    # and once more by hand, as an operator might, with every row already sent
    assert campaign.plan(rt, "nudge", "2026-W49", clock()).planned == 0
    assert campaign.dispatch(rt, clock(), force=True) == 0
    work()
    sent = twilio.messages()
    assert sorted(m["To"] for m in sent) == sorted(phones)
    assert all("মডিউল" in m["Body"] for m in sent)
    assert {r.status for r in rows(rt, campaign="nudge")} == {"sent"}


def test_sends_are_spread_over_the_window_and_wait_for_it(rt, twilio, work, clock):
    clock.current = SUNDAY_9 - timedelta(hours=3)  # 06:00, before the window opens
    teachers(rt, 10, clock())
    report = campaign.plan(rt, "nudge", "2026-W49", clock())
    assert report.planned == 10
    planned = sorted(r.planned_at for r in rows(rt, campaign="nudge"))
    assert planned[0] == SUNDAY_9 and planned[-1] < SUNDAY_9.replace(hour=19)
    gaps = {b - a for a, b in zip(planned, planned[1:])}
    assert len(gaps) == 1 and gaps.pop() == timedelta(hours=1)  # 10 hours, 10 teachers
    assert campaign.dispatch(rt, clock()) == 0  # outside the window nothing goes
    clock.current = SUNDAY_9 + timedelta(hours=2, minutes=30)
    assert campaign.dispatch(rt, clock()) == 3  # 09:00, 10:00, 11:00
    work()
    assert len(twilio.messages()) == 3


def test_nothing_goes_on_a_holiday_or_a_weekend(rt, clock):
    cal = rt.calendar
    # 2026-W51: Victory Day is Wednesday 16 December
    assert [d.day for d in cal.week_days("2026-W51")] == [13, 14, 15, 17]
    assert campaign.when(cal, rt.campaigns["reminder"], "2026-W51")[0].astimezone(
        cal.tz).date().day == 15
    # the winter break leaves 2026-W52 without a school day, so nothing is planned
    assert cal.week_days("2026-W52") == []
    teachers(rt, 2, clock())
    assert campaign.plan(rt, "nudge", "2026-W52", clock()).planned == 0
    assert not cal.in_window(datetime(2026, 11, 27, 12, 0, tzinfo=cal.tz))  # a Friday


def test_opted_out_and_not_onboarded_teachers_are_left_out(rt, twilio, work, clock):
    clock.current = SUNDAY_9
    teachers(rt, 3, clock())
    with rt.db.session() as db:
        db.add(Person(phone="+8801911000001", name="নতুন", role="teacher", language="bn",
                      channel="sms", created_at=clock()))  # never onboarded
        db.add(Person(phone="+8801911000002", name="অফিসার", role="officer", language="bn",
                      channel="sms", onboarded_at=clock(), created_at=clock()))
        db.add(Person(phone="+8801911000003", name="বন্ধ", role="teacher", language="bn",
                      channel="sms", onboarded_at=clock(), opted_out_at=clock(),
                      created_at=clock()))
    assert campaign.plan(rt, "nudge", "2026-W49", clock(), immediately=True).planned == 3
    # one stops after the plan and before the send: --now never overrides an opt-out
    with rt.db.session() as db:
        p = db.execute(select(Person).where(Person.phone == "+8801811000001")).scalar_one()
        p.opted_out_at = clock()
    assert campaign.dispatch(rt, clock(), force=True) == 3
    work()
    assert sorted(m["To"] for m in twilio.messages()) == ["+8801811000000", "+8801811000002"]
    assert [r.note for r in rows(rt, status="skipped")] == ["opted_out"]


def test_reminder_and_reflection_follow_the_weeks_nudge(rt, twilio, work, clock):
    clock.current = SUNDAY_9
    teachers(rt, 1, clock())
    # a teacher with no nudge this week (joined mid-week) gets no reminder
    clock.current = SUNDAY_9 + timedelta(days=2)
    campaign.plan(rt, "reminder", "2026-W49", clock())
    campaign.dispatch(rt, clock())
    work()
    assert [r.note for r in rows(rt, campaign="reminder")] == ["no_nudge"]
    clock.current = SUNDAY_9
    campaign.plan(rt, "nudge", "2026-W49", clock())
    campaign.dispatch(rt, clock())
    clock.current = SUNDAY_9 + timedelta(days=4, hours=5)
    campaign.plan(rt, "reflection", "2026-W49", clock())
    campaign.dispatch(rt, clock())
    work()
    nudge, reflection = twilio.messages()
    title = rows(rt, campaign="nudge")[0].activity
    assert rows(rt, campaign="reflection")[0].activity == title
    assert nudge["Body"].split(":")[1].split("(")[0].strip() in reflection["Body"]


def test_a_week_that_is_over_is_not_sent_late(rt, twilio, work, clock):
    clock.current = SUNDAY_9
    teachers(rt, 2, clock())
    campaign.plan(rt, "nudge", "2026-W49", clock())
    clock.current = SUNDAY_9 + timedelta(days=7)  # the service was down all week
    assert campaign.dispatch(rt, clock()) == 0
    work()
    assert twilio.messages() == []
    assert {r.note for r in rows(rt)} == {"week_over"}


def answering_last_weeks_reflection(rt, tw, work, clock, at: datetime) -> None:
    """রহিমা বেগম onboarded, nudged and asked last week's reflection, answers its first
    question two minutes before `at` (and is then asked what learners learned): at `at` she
    is mid-conversation. The clock is left at `at`."""
    phone = "+8801711000001"
    clock.current = SUNDAY_9 - timedelta(days=2)
    for text in ("hi", "1", "1"):  # onboarding
        tw.sms(phone, text)
        work()
    campaign.plan(rt, "nudge", "2026-W48", SUNDAY_9 - timedelta(days=7), immediately=True)
    campaign.dispatch(rt, SUNDAY_9 - timedelta(days=7), force=True)
    work()
    clock.current = SUNDAY_9 - timedelta(days=1)
    campaign.plan(rt, "reflection", "2026-W48", clock(), immediately=True)
    campaign.dispatch(rt, clock(), force=True)
    work()
    clock.current = at - timedelta(minutes=2)
    tw.sms(phone, "১")
    work()
    clock.current = at


def test_a_teacher_mid_conversation_gets_the_campaign_a_little_later(
        rt, roster, tw, twilio, work, clock):
    answering_last_weeks_reflection(rt, tw, work, clock, SUNDAY_9)
    seen = len(twilio.messages())
    campaign.plan(rt, "nudge", "2026-W49", clock())
    assert campaign.dispatch(rt, clock()) == 1
    work()
    assert len(twilio.messages()) == seen  # not in the middle of her answer
    [row] = rows(rt, campaign="nudge", week="2026-W49")
    assert row.status == "planned" and row.planned_at == SUNDAY_9 + campaign.BUSY_DELAY
    clock.current = SUNDAY_9 + campaign.BUSY_DELAY
    assert campaign.dispatch(rt, clock()) == 1
    work()
    assert len(twilio.messages()) == seen + 1
    assert rows(rt, campaign="nudge", week="2026-W49")[0].variant == "normal"  # she had tried


def test_plan_due_plans_only_on_the_campaigns_day(rt, clock):
    teachers(rt, 2, SUNDAY_9)
    clock.current = SUNDAY_9 - timedelta(days=1)  # Saturday
    assert campaign.plan_due() == 0
    clock.current = SUNDAY_9 - timedelta(minutes=30)
    assert campaign.plan_due() == 2
    assert campaign.plan_due() == 0  # already planned


def test_cli_campaign_run_now_and_list(rt, twilio, work, clock):
    clock.current = SUNDAY_9 - timedelta(hours=4)  # 05:00: outside the window
    teachers(rt, 5, clock())
    out = CliRunner().invoke(main, ["campaign", "run", "nudge", "--week", "2026-W49", "--now"])
    assert out.exit_code == 0, out.output
    assert "nudge 2026-W49: 5 planned now (0 already were); 5 due: sent 5" in out.output
    work()
    assert len(twilio.messages()) == 5
    again = CliRunner().invoke(main, ["campaign", "run", "nudge", "--week", "2026-W49", "--now"])
    assert "0 planned now (5 already were); 0 due: none" in again.output
    listing = CliRunner().invoke(main, ["campaign", "list", "--week", "2026-W49"])
    assert listing.exit_code == 0, listing.output
    assert "nudge" in listing.output and "sent 5" in listing.output
    assert "Tue 2026-12-01 09:00" in listing.output  # the reminder's day and time
    bad = CliRunner().invoke(main, ["campaign", "run", "nudge", "--week", "48"])
    assert bad.exit_code == 2 and "YYYY-Www" in bad.output


@pytest.mark.parametrize("now,expected", [
    # Thursday 14:10 -> 18:00 the same day
    (datetime(2026, 12, 3, 14, 10), "আজ সন্ধ্যা ৬টায়"),
    # Thursday 17:30 -> after the window: Sunday 09:00
    (datetime(2026, 12, 3, 17, 30), "আগামী রবিবার সকাল ৯টায়"),
    # Monday 16:30 -> Tuesday 09:00
    (datetime(2026, 11, 30, 16, 30), "আগামীকাল সকাল ৯টায়"),
])
def test_later_asks_again_inside_the_sending_window(rt, clock, now, expected):
    from bot.flows.actions import Context, snooze

    local = now.replace(tzinfo=rt.calendar.tz)
    with rt.db.session() as db:
        person = Person(phone="+8801811999999", name="ক", role="teacher", language="bn",
                        channel="sms", created_at=local)
        fields = snooze(Context(db=db, person=person, run=None, now=local,
                                catalogues=rt.catalogues, calendar=rt.calendar))
    at = datetime.fromisoformat(fields["snooze_at"])
    assert rt.calendar.in_window(at)
    assert fields["when"] == expected


def test_benchmark_sized_plan_keeps_to_chunks(rt, clock, monkeypatch):
    """Planning reads teachers PLAN_CHUNK at a time (what keeps the benchmark's memory flat)."""
    monkeypatch.setattr(campaign, "PLAN_CHUNK", 7)
    clock.current = SUNDAY_9
    teachers(rt, 30, clock())
    chunks = []
    report = campaign.plan(rt, "nudge", "2026-W49", clock(), progress=chunks.append)
    assert report.planned == 30 and chunks == [7, 7, 7, 7, 2]
    with rt.db.session() as db:
        assert db.execute(select(func.count(CampaignRun.id))).scalar() == 30


@pytest.mark.parametrize("local_time,says", [
    ((9, 0), "1 deferred: they were writing to us just now, so as not to interrupt; theirs go "
             "out from Sun 2026-11-29 09:10\n"),
    # ten minutes on is past the window (09:00-19:00): the cron waits for Monday's
    ((18, 55), "1 deferred: they were writing to us just now, so as not to interrupt; theirs go "
               "out from Mon 2026-11-30 09:00 (or run this again with --now after Sun "
               "2026-11-29 19:05)\n"),
    # Thursday evening: the window opens again in next week, when this week's rows are skipped
    ((18, 55, 4), "1 deferred: they were writing to us just now, so as not to interrupt; "
                  "2026-W49 is over before the window opens again, so theirs go only if you run "
                  "this again with --now after Thu 2026-12-03 19:05\n"),
])
def test_campaign_run_now_says_who_was_deferred_and_until_when(
        rt, roster, tw, twilio, work, clock, local_time, says):
    """An operator who runs a campaign by hand is told why a teacher did not get it yet (she
    was answering a question just now) and when she will, which can be the next school day
    when the deferral falls past the sending window."""
    hour, minute, *days = local_time
    answering_last_weeks_reflection(rt, tw, work, clock, SUNDAY_9.replace(
        hour=hour, minute=minute) + timedelta(days=days[0] if days else 0))
    out = CliRunner().invoke(main, ["campaign", "run", "nudge", "--week", "2026-W49", "--now"])
    assert out.exit_code == 0, out.output
    assert "1 due: deferred 1" in out.output
    assert says in out.output
