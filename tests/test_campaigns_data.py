"""Campaigns are data: a new schedule is an entry in flows/campaigns.yaml plus a flow, no code.
A broken campaigns file is refused with file:line: reason, like a broken flow."""
from __future__ import annotations

import dataclasses
import shutil
from datetime import date, datetime, timedelta, timezone

import pytest
import redis
from click.testing import CliRunner
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from bot import runtime
from bot.campaigns import fanout
from bot.campaigns.campaign import CampaignError, load_campaigns, parse_campaigns
from bot.cli import main
from bot.config import ROOT
from bot.store.models import CampaignRun, Person, School

DHAKA = timezone(timedelta(hours=6))
GOOD = ROOT / "flows" / "campaigns.yaml"

MONTHLY = """
  - id: head_monthly
    what: "first school day of the month: a word for headteachers"
    flow: head_monthly
    audience: {role: headteacher}
    cadence: monthly
    day: {school_day_of_month: 1}
    at: "10:00"
    window: true
"""

FLOW = """id: head_monthly
start: hello
nodes:
  hello:
    say: common.no_flow
"""


@pytest.fixture
def flows_dir(tmp_path):
    """A copy of flows/ that a test may add campaigns and flows to."""
    target = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", target)
    return target


def runtime_for(settings, redis_conn, clock, flows_dir):
    rt = runtime.Runtime(dataclasses.replace(settings, flows_dir=flows_dir),
                         redis_conn=redis_conn, clock=clock)
    runtime.install(rt)
    return rt


def people(rt, now):
    with rt.db.session() as db:
        school = School(emis="91000001", name="স্কুল", upazila="চরফ্যাশন", district="ভোলা")
        db.add(school)
        db.flush()
        db.add_all([
            Person(phone="+8801811000001", name="প্রধান ১", role="headteacher", language="bn",
                   channel="sms", school_id=school.id, created_at=now),
            Person(phone="+8801811000002", name="প্রধান ২", role="headteacher", language="en",
                   channel="whatsapp", school_id=school.id, onboarded_at=now, created_at=now),
            Person(phone="+8801811000003", name="বন্ধ", role="headteacher", language="bn",
                   channel="sms", school_id=school.id, opted_out_at=now, created_at=now),
            # not onboarded, so the weekly cycle leaves this teacher out too
            Person(phone="+8801811000004", name="শিক্ষক", role="teacher", language="bn",
                   channel="sms", school_id=school.id, created_at=now)])


def test_a_new_campaign_is_yaml_and_a_flow_and_no_code(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    # the weekly cycle and the new campaign (the invitations would reach the two who never
    # wrote in on the same Tuesday: tests/test_invitations.py follows them)
    weekly = GOOD.read_text("utf-8").split("\n  - id: invite\n")[0] + "\n"
    (flows_dir / "campaigns.yaml").write_text(weekly + MONTHLY, "utf-8")
    (flows_dir / "head_monthly.yaml").write_text(FLOW, "utf-8")
    rt = runtime_for(settings, redis_conn, clock, flows_dir)
    try:
        # 2026-12: Tuesday 1 December is the month's first school day
        clock.current = datetime(2026, 11, 30, 10, 0, tzinfo=DHAKA)
        people(rt, clock())
        assert fanout.plan_due() == 0  # Monday 30 November: not its day
        clock.current = datetime(2026, 12, 1, 9, 15, tzinfo=DHAKA)
        assert fanout.plan_due() == 2  # headteachers, not the one who opted out, no teacher
        assert fanout.plan_due() == 0
        assert fanout.dispatch(rt, clock()) == 0  # planned from 10:00
        clock.current = datetime(2026, 12, 1, 19, 0, tzinfo=DHAKA) - timedelta(seconds=1)
        assert fanout.dispatch(rt, clock()) == 2
        from bot.simulate import drain

        drain(rt)
        sent = sorted((m["To"], m["Body"]) for m in twilio.messages())
        assert [to for to, _ in sent] == ["+8801811000001", "whatsapp:+8801811000002"]
        assert sent[0][1].startswith("ধন্যবাদ, আপনার বার্তা পেয়েছি")  # in her language
        assert sent[1][1].isascii()  # English
        with rt.db.session() as db:
            rows = db.execute(select(CampaignRun)).scalars().all()
        assert {(r.campaign, r.week, r.status) for r in rows} == {
            ("head_monthly", "2026-12", "sent")}
        # the same month again sends nothing; the CLI lists and runs it like any other
        assert fanout.plan(rt, "head_monthly", "2026-W49", clock()).planned == 0
        listing = CliRunner().invoke(main, ["campaign", "list", "--week", "2026-W49"])
        assert "head_monthly" in listing.output and "sent 2" in listing.output
        assert "Tue 2026-12-01 10:00" in listing.output
        again = CliRunner().invoke(main, ["campaign", "run", "head_monthly", "--now"])
        assert again.exit_code == 0 and "0 planned now (2 already were)" in again.output
        bad = CliRunner().invoke(main, ["campaign", "run", "nosuch"])
        assert bad.exit_code == 2 and "head_monthly" in bad.output
    finally:
        rt.close()


def test_a_day_of_the_month_counts_school_days_and_skips_holidays(rt):
    text = GOOD.read_text("utf-8") + MONTHLY.replace("{school_day_of_month: 1}",
                                                     "{school_day_of_month: -1}")
    c = parse_campaigns(text, "campaigns.yaml", flows=None)["head_monthly"]
    cal = rt.calendar
    # December 2026: Victory Day on the 16th, the winter break from the 20th: Thursday 17th
    assert c.day_in(cal, "2026-12") == date(2026, 12, 17)
    assert c.period_for_week(cal, "2026-W51") == "2026-12"
    # the week of 29 Nov - 3 Dec plans for December, whose day falls in it
    first = parse_campaigns(GOOD.read_text("utf-8") + MONTHLY, "c.yaml")["head_monthly"]
    assert first.period_for_week(cal, "2026-W49") == "2026-12"
    assert first.day_in(cal, "2026-12") == date(2026, 12, 1)


def test_a_fortnightly_campaign_runs_every_other_week(rt):
    text = GOOD.read_text("utf-8") + MONTHLY.replace(
        "cadence: monthly", "cadence: fortnightly\n    first_week: 2026-W49").replace(
        "{school_day_of_month: 1}", "first")
    c = parse_campaigns(text, "c.yaml")["head_monthly"]
    weeks = [rt.calendar.next_week("2026-W49", i) for i in range(4)]
    assert [c.period_for_week(rt.calendar, w) for w in weeks] == [
        "2026-W49", None, "2026-W51", None]


def test_a_once_only_campaign_reaches_each_person_once_and_a_missed_week_does_not_count(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    once = MONTHLY.replace("cadence: monthly", "cadence: once").replace(
        "{school_day_of_month: 1}", "first")
    (flows_dir / "campaigns.yaml").write_text(GOOD.read_text("utf-8") + once, "utf-8")
    (flows_dir / "head_monthly.yaml").write_text(FLOW, "utf-8")
    rt = runtime_for(settings, redis_conn, clock, flows_dir)
    try:
        clock.current = datetime(2026, 11, 29, 10, 0, tzinfo=DHAKA)  # Sunday, 2026-W49
        people(rt, clock())
        assert fanout.plan(rt, "head_monthly", "2026-W49", clock()).planned == 2
        # the service was down all week: the rows are skipped, and the next week plans again
        clock.current = datetime(2026, 12, 6, 10, 0, tzinfo=DHAKA)
        assert fanout.dispatch(rt, clock()) == 0
        assert fanout.plan(rt, "head_monthly", "2026-W50", clock()).planned == 2
        assert fanout.dispatch(rt, clock() + timedelta(hours=8)) == 2
        # sent once: no later week plans them again
        assert fanout.plan(rt, "head_monthly", "2026-W51", clock() + timedelta(days=7)
                           ).planned == 0
    finally:
        rt.close()


def test_a_campaign_outside_the_window_goes_at_its_time(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    early = MONTHLY.replace('at: "10:00"\n    window: true', 'at: "07:00"\n    window: false\n'
                                                              '    spread: 30m')
    (flows_dir / "campaigns.yaml").write_text(GOOD.read_text("utf-8") + early, "utf-8")
    (flows_dir / "head_monthly.yaml").write_text(FLOW, "utf-8")
    rt = runtime_for(settings, redis_conn, clock, flows_dir)
    try:
        clock.current = datetime(2026, 12, 1, 6, 30, tzinfo=DHAKA)
        people(rt, clock())
        assert fanout.plan_due() == 2
        planned = sorted(r.planned_at for r in _rows(rt))
        assert planned == [datetime(2026, 12, 1, 7, 0, tzinfo=DHAKA),
                           datetime(2026, 12, 1, 7, 15, tzinfo=DHAKA)]
        assert not rt.calendar.in_window(clock() + timedelta(hours=1))
        assert fanout.dispatch(rt, clock() + timedelta(hours=1)) == 2  # 07:30, before 09:00
    finally:
        rt.close()


def _rows(rt):
    with rt.db.session() as db:
        return db.execute(select(CampaignRun)).scalars().all()


@pytest.mark.parametrize("change,line,reason", [
    (lambda t: t.replace("cadence: monthly", "cadence: yearly"), 5, "cadence"),
    (lambda t: t.replace("flow: head_monthly", "flow: nosuch"), 3, "no flow 'nosuch'"),
    (lambda t: t.replace("role: headteacher", "role: principal"), 4, "unknown role 'principal'"),
    (lambda t: t.replace("{school_day_of_month: 1}", "first"), 6, "is not of type 'object'"),
    (lambda t: t.replace("id: head_monthly", "id: nudge"), 1, "used twice"),
    (lambda t: t.replace('at: "10:00"', 'at: "25:00"'), 7, "does not match"),
    (lambda t: t.replace('at: "10:00"', 'at: "20:00"'), 7, "after the sending window"),
    (lambda t: t.replace("cadence: monthly", "cadence: fortnightly\n    first_week: 2025-W53")
     .replace("{school_day_of_month: 1}", "first"), 6, "week '2025-W53' does not exist"),
    (lambda t: t.replace("what:", "flow: head_monthly\n    what:"), 4, "'flow' is given twice"),
    (lambda t: t + "    prepare: nosuch\n", 9, "unknown preparation 'nosuch'"),
])
def test_a_broken_campaign_is_refused_with_file_line_and_reason(
        flows_dir, change, line, reason):
    (flows_dir / "head_monthly.yaml").write_text(FLOW, "utf-8")
    good = GOOD.read_text("utf-8")
    offset = good.count("\n")
    (flows_dir / "campaigns.yaml").write_text(good + change(MONTHLY.lstrip("\n")), "utf-8")
    from bot.campaigns.calendar import load as load_calendar
    from bot.flows.definition import load_flows
    from bot.runtime import PREPARATIONS

    cal = load_calendar(str(ROOT / "flows" / "calendar" / "holidays.yaml"), "Asia/Dhaka",
                        "09:00-19:00")
    with pytest.raises(CampaignError) as e:
        load_campaigns(flows_dir, flows=load_flows(flows_dir), preparations=set(PREPARATIONS),
                       cal=cal)
    assert str(e.value).startswith(f"{flows_dir / 'campaigns.yaml'}:{offset + line}: ")
    assert reason in str(e.value)


def test_the_shipped_campaigns_are_the_weekly_cycle_invitations_peers_the_call_and_digests():
    shipped = parse_campaigns(GOOD.read_text("utf-8"), GOOD)
    assert {c.id: (c.flow, c.cadence, c.day, c.at.strftime("%H:%M"))
            for c in shipped.values()} == {
        "nudge": ("weekly_nudge", "weekly", "first", "09:00"),
        "reminder": ("weekly_reminder", "weekly", "middle", "09:00"),
        "reflection": ("reflection", "weekly", "last", "14:00"),
        "checkin": ("checkin", "weekly", "last", "16:30"),
        "invite": ("invite", "once", "middle", "10:00"),
        "invite_again": ("invite_again", "once", "middle", "10:00"),
        "reassess": ("reassess", "monthly", 3, "10:00"),
        "pair": ("peer_pair", "monthly", 6, "10:00"),
        "story": ("peer_story", "fortnightly", "middle", "15:00"),
        "head_summary": ("head_summary", "weekly", "last", "17:00"),
        "upazila_digest": ("officer", "weekly", "last", "17:00"),
        "district_digest": ("officer", "monthly", -1, "17:00"),
        "recognition": ("officer", "fortnightly", "first", "11:00")}
    assert shipped["upazila_digest"].audience.area == "upazila"
    assert shipped["district_digest"].audience.area == "district"
    assert [c.id for c in shipped.values() if c.follows_plan] == ["reminder"]
    assert [c.id for c in shipped.values() if c.first_contact] == ["invite", "invite_again"]
    assert shipped["invite_again"].audience.had == "invite"
    checkin = shipped["checkin"]
    assert (checkin.audience.roles, checkin.audience.channels) == (("headteacher",), ("voice",))
    assert checkin.window and checkin.prepare == "school_week"


def test_an_alias_bomb_or_bytes_that_are_not_utf8_are_refused_with_file_and_line(tmp_path):
    from bot.schemas import MAX_NODES

    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    path = tmp_path / "campaigns.yaml"
    path.write_text("description: x\n" + "\n".join(bomb) + "\ncampaigns: []\n", "utf-8")
    with pytest.raises(CampaignError, match=f"over {MAX_NODES:,} values"):
        load_campaigns(tmp_path)
    path.write_bytes(GOOD.read_bytes() + b"  - id: caf\xe9\n")
    with pytest.raises(CampaignError) as e:
        load_campaigns(tmp_path)
    assert str(e.value) == f"{path}:{GOOD.read_text('utf-8').count(chr(10)) + 1}: not UTF-8 text"


def _with(settings, redis_conn, clock, flows_dir, block):
    (flows_dir / "campaigns.yaml").write_text(GOOD.read_text("utf-8") + block, "utf-8")
    (flows_dir / "head_monthly.yaml").write_text(FLOW, "utf-8")
    return runtime_for(settings, redis_conn, clock, flows_dir)


WEEKLY_HEAD = MONTHLY.replace("cadence: monthly", "cadence: weekly").replace(
    "{school_day_of_month: 1}", "first")


def test_run_now_sends_only_that_campaign_and_never_a_period_that_is_over(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    rt = _with(settings, redis_conn, clock, flows_dir, WEEKLY_HEAD)
    try:
        clock.current = datetime(2026, 11, 29, 8, 0, tzinfo=DHAKA)  # Sunday, 2026-W49
        people(rt, clock())
        with rt.db.session() as db:  # one onboarded teacher, for the nudge
            db.execute(select(Person).where(Person.role == "teacher")).scalar_one(
            ).onboarded_at = clock()
        assert fanout.plan(rt, "nudge", "2026-W49", clock()).planned == 1
        assert fanout.plan(rt, "head_monthly", "2026-W49", clock()).planned == 2
        # nothing was sent that week (the service was down); Sunday 08:00 of the next week:
        clock.current = datetime(2026, 12, 6, 8, 0, tzinfo=DHAKA)
        out = CliRunner().invoke(main, ["campaign", "run", "head_monthly", "--now"])
        assert out.exit_code == 0, out.output
        assert "2 planned now" in out.output and "2 due: sent 2" in out.output
        with rt.db.session() as db:
            rows = db.execute(select(CampaignRun.campaign, CampaignRun.week, CampaignRun.status)
                              ).all()
        assert sorted(rows) == [("head_monthly", "2026-W49", "skipped"),
                                ("head_monthly", "2026-W49", "skipped"),
                                ("head_monthly", "2026-W50", "sent"),
                                ("head_monthly", "2026-W50", "sent"),
                                ("nudge", "2026-W49", "planned")]  # not this run's campaign
        clock.current = datetime(2026, 12, 6, 10, 0, tzinfo=DHAKA)  # cron, in the window
        assert fanout.dispatch(rt, clock()) == 0
        with rt.db.session() as db:
            assert db.execute(select(CampaignRun.status, CampaignRun.note).where(
                CampaignRun.campaign == "nudge")).one() == ("skipped", "week_over")
        past = CliRunner().invoke(main, ["campaign", "run", "nudge", "--week", "2026-W45",
                                         "--now"])
        assert past.exit_code == 0 and "that period is over" in past.output
    finally:
        rt.close()


def _heads_planned_now(settings, redis_conn, clock, flows_dir):
    """A runtime whose weekly head campaign is planned for now (Sunday 10:00, 2026-W49) for
    the two headteachers of `people`."""
    rt = _with(settings, redis_conn, clock, flows_dir, WEEKLY_HEAD)
    try:
        clock.current = datetime(2026, 11, 29, 10, 0, tzinfo=DHAKA)
        people(rt, clock())
        fanout.plan(rt, "head_monthly", "2026-W49", clock(), immediately=True)
    except BaseException:
        rt.close()
        raise
    return rt


def test_rows_whose_deliver_job_was_lost_are_sent_once_later(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    rt = _heads_planned_now(settings, redis_conn, clock, flows_dir)
    try:
        assert fanout.dispatch(rt, clock()) == 2
        queue = rt.queue("default")
        lost = [(job.args, job.kwargs) for job in queue.jobs]
        queue.empty()  # Redis lost the job: it never runs
        assert fanout.dispatch(rt, clock() + timedelta(minutes=5)) == 0  # still its own
        late = clock() + fanout.LOST_AFTER + timedelta(minutes=1)
        assert fanout.dispatch(rt, late, hand_over=fanout.deliver) == 2
        args, kwargs = lost[0]
        assert fanout.deliver(*args, **kwargs) == {"duplicate": 2}  # if it ever runs after all
        from bot.simulate import drain

        drain(rt)
        assert len(twilio.messages()) == 2
    finally:
        rt.close()


def test_a_slow_job_and_the_job_of_its_reclaimed_rows_are_two_jobs(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    """The workers fall behind: a batch's job waits past LOST_AFTER, its rows are claimed again
    into a new batch that starts with the same row. Both jobs stay in the queue, each with its
    own claim (one job id per batch's first row made the second overwrite the first), and
    each row is sent once when the workers catch up."""
    rt = _heads_planned_now(settings, redis_conn, clock, flows_dir)
    try:
        assert fanout.dispatch(rt, clock()) == 2
        late = clock() + fanout.LOST_AFTER + timedelta(minutes=1)
        assert fanout.dispatch(rt, late) == 2  # the first job has not run: its rows go again
        jobs = rt.queue("default").jobs
        assert len({job.id for job in jobs}) == 2
        assert [job.args for job in jobs] == [jobs[0].args] * 2  # the same rows
        assert jobs[0].kwargs["claim"] != jobs[1].kwargs["claim"]
        from bot.simulate import drain

        drain(rt)
        assert len(twilio.messages()) == 2
    finally:
        rt.close()


def test_rows_whose_jobs_redis_refused_are_due_again_at_once(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    """Redis down as dispatch enqueues: the claim was committed, the jobs never made it. The
    rows go with the next dispatch once Redis is back, not LOST_AFTER later (by then the
    period may be over and they would never go)."""
    rt = _heads_planned_now(settings, redis_conn, clock, flows_dir)
    try:
        rt.redis = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))  # down
        with pytest.raises(redis.ConnectionError):
            fanout.dispatch(rt, clock())
        rt.redis = redis_conn  # back
        assert fanout.dispatch(rt, clock() + timedelta(minutes=1), hand_over=fanout.deliver) == 2
        from bot.simulate import drain

        drain(rt)
        assert len(twilio.messages()) == 2
        assert fanout.dispatch(rt, clock() + fanout.LOST_AFTER * 2) == 0  # and only once
    finally:
        rt.close()


def test_a_reused_id_with_another_cadence_never_sends_old_rows_late(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    rt = _with(settings, redis_conn, clock, flows_dir, WEEKLY_HEAD)
    clock.current = datetime(2026, 11, 29, 10, 0, tzinfo=DHAKA)
    people(rt, clock())
    assert fanout.plan(rt, "head_monthly", "2026-W49", clock()).planned == 2
    rt.close()
    rt = _with(settings, redis_conn, clock, flows_dir, MONTHLY)  # now monthly, same id
    try:
        clock.current = datetime(2026, 12, 10, 10, 0, tzinfo=DHAKA)
        assert fanout.dispatch(rt, clock()) == 0
        assert {r.note for r in _rows(rt)} == {"week_over"}
    finally:
        rt.close()


def test_a_once_only_campaign_reaches_someone_who_was_opted_out_when_it_went(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    once = WEEKLY_HEAD.replace("cadence: weekly", "cadence: once")
    rt = _with(settings, redis_conn, clock, flows_dir, once)
    try:
        clock.current = datetime(2026, 11, 29, 10, 0, tzinfo=DHAKA)
        people(rt, clock())
        assert fanout.plan(rt, "head_monthly", "2026-W49", clock(), immediately=True).planned == 2
        with rt.db.session() as db:
            db.execute(select(Person).where(Person.phone == "+8801811000001")).scalar_one(
            ).opted_out_at = clock()
        fanout.dispatch(rt, clock(), hand_over=fanout.deliver)
        with rt.db.session() as db:  # back again with START
            db.execute(select(Person).where(Person.phone == "+8801811000001")).scalar_one(
            ).opted_out_at = None
        clock.current += timedelta(days=7)
        assert fanout.plan(rt, "head_monthly", "2026-W50", clock()).planned == 1
    finally:
        rt.close()


def test_a_campaign_outside_the_window_is_still_sent_when_cron_missed_its_hour(
        settings, redis_conn, clock, twilio, flows_dir, rt):
    early = MONTHLY.replace('at: "10:00"\n    window: true', 'at: "07:00"\n    window: false')
    rt = _with(settings, redis_conn, clock, flows_dir, early)
    try:
        clock.current = datetime(2026, 12, 1, 7, 40, tzinfo=DHAKA)  # cron was down at 07:00
        people(rt, clock())
        assert fanout.plan_due() == 2
        assert fanout.dispatch(rt, clock()) == 2
    finally:
        rt.close()
