"""The reflection (Reflect -> Share): the obstacle is a numbered choice stored coded, as the
officers' digests count it; a free-text obstacle is kept as text and coded only by the NLU's
obstacle classifier (the hook); consent to pass it on in the upazila is its own answer; the
thanks names the real next day."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot import nlu
from bot.campaigns import fanout as campaign
from bot.digests.figures import school_week
from bot.store.models import OBSTACLES, Answer, FlowRun, Person

RAHIMA, ANJALI = "+8801711000001", "+8801711000002"  # one school, 91010101
THURSDAY_14 = datetime.fromisoformat("2026-12-03T14:00:00+06:00")  # 2026-W49


def week(rt, tw, work, clock, phones=(RAHIMA,), thursday=THURSDAY_14):
    """Onboard, nudge on Sunday, ask for the reflection on Thursday."""
    clock.current = thursday - timedelta(days=6)
    for phone in phones:
        for text in ("hi", "1", "1"):
            tw.sms(phone, text)
            work()
    for name, at in (("nudge", thursday - timedelta(days=4, hours=5)), ("reflection", thursday)):
        clock.current = at
        campaign.plan(rt, name, rt.calendar.week_of(at), at, immediately=True)
        campaign.dispatch(rt, at, force=True)
        work()
    clock.advance(minutes=30)


def say(tw, work, phone, *texts):
    for text in texts:
        tw.sms(phone, text)
        work()


def answers(rt, phone):
    with rt.db.session() as db:
        rows = db.execute(select(Answer.field, Answer.value).join(FlowRun).join(
            Person, Person.id == FlowRun.person_id).where(
            Person.phone == phone, FlowRun.flow == "reflection").order_by(Answer.id)).all()
    return dict(rows)


@pytest.mark.parametrize("said, code", [
    ("১", "time"), ("2", "materials"), ("৩", "understanding"), ("সময়", "time"),
    ("upokoron", "materials"), ("bujhte pareni", "understanding"),
])
def test_the_obstacle_is_a_numbered_choice_stored_coded(rt, roster, tw, twilio, work, clock,
                                                        said, code):
    week(rt, tw, work, clock)
    say(tw, work, RAHIMA, "3", said)
    assert answers(rt, RAHIMA) == {"tried": "no", "obstacle": code}
    assert code in OBSTACLES
    assert twilio.messages()[-1]["Body"].startswith("জানানোর জন্য ধন্যবাদ। আগামী রবিবার")


def test_partly_asks_what_worked_and_what_got_in_the_way(rt, roster, tw, twilio, work, clock):
    week(rt, tw, work, clock)
    say(tw, work, RAHIMA, "kichuta", "গুনতে শিখেছে", "জোড়ায় কাজ", "৩", "ছোট দলে করব", "না",
        "৩")
    assert answers(rt, RAHIMA) == {
        "tried": "partly", "learned": "গুনতে শিখেছে", "worked": "জোড়ায় কাজ",
        "obstacle": "understanding", "change": "ছোট দলে করব", "share": "no",
        "share_upazila": "no"}


def test_a_free_text_obstacle_is_kept_as_text_and_left_uncoded(rt, roster, tw, work, clock):
    week(rt, tw, work, clock)
    say(tw, work, RAHIMA, "না", "বৃষ্টিতে অর্ধেক শিশু আসেনি")
    assert answers(rt, RAHIMA) == {"tried": "no", "obstacle_text": "বৃষ্টিতে অর্ধেক শিশু আসেনি"}


def test_the_obstacle_classifier_codes_free_text_when_there_is_one(
        rt, roster, tw, work, clock, monkeypatch):
    heard = []

    def obstacle(runtime, text):  # what issue 17's classifier will be: (rt, text) -> code
        heard.append((runtime, text))
        return "time" if "সময়" in text else None

    monkeypatch.setattr(nlu, "obstacle", obstacle, raising=False)
    week(rt, tw, work, clock, phones=(RAHIMA, ANJALI))
    say(tw, work, RAHIMA, "না", "পরীক্ষার জন্য সময় পাইনি")
    say(tw, work, ANJALI, "no", "the chalk ran out")
    assert answers(rt, RAHIMA) == {"tried": "no", "obstacle_text": "পরীক্ষার জন্য সময় পাইনি",
                                   "obstacle": "time"}
    assert answers(rt, ANJALI) == {"tried": "no", "obstacle_text": "the chalk ran out"}
    assert [text for _, text in heard] == ["পরীক্ষার জন্য সময় পাইনি", "the chalk ran out"]
    assert all(runtime is rt for runtime, _ in heard)


def test_a_classifier_that_fails_or_says_nonsense_codes_nothing(
        rt, roster, tw, twilio, work, clock, monkeypatch):
    week(rt, tw, work, clock, phones=(RAHIMA, ANJALI))
    monkeypatch.setattr(nlu, "obstacle", lambda runtime, text: 1 / 0, raising=False)
    say(tw, work, RAHIMA, "না", "কী বলব")
    monkeypatch.setattr(nlu, "obstacle", lambda runtime, text: "weather", raising=False)
    say(tw, work, ANJALI, "no", "rain")
    assert "obstacle" not in answers(rt, RAHIMA) and "obstacle" not in answers(rt, ANJALI)
    thanked = [m["To"] for m in twilio.messages() if m["Body"].startswith("জানানোর জন্য ধন্যবাদ")]
    assert thanked == [RAHIMA, ANJALI]  # each turn went on all the same


def test_the_officers_figures_count_the_coded_obstacles_and_who_shares(
        rt, roster, tw, work, clock):
    week(rt, tw, work, clock, phones=(RAHIMA, ANJALI))
    say(tw, work, RAHIMA, "2", "গুনতে পারছে", "খেলাটা", "২", "আগে উপকরণ জোগাড়", "1", "1")
    say(tw, work, ANJALI, "3", "2")
    with rt.db.session() as db:
        school = db.execute(select(Person.school_id).where(Person.phone == RAHIMA)).scalar()
        figures = school_week(db, school, "2026-W49")
    assert figures.obstacles == {"materials": 2}
    assert figures.top_obstacle == "materials"
    assert figures.sharers == ("রহিমা বেগম",) and figures.tried == ("রহিমা বেগম",)


def test_before_a_break_the_thanks_says_after_the_holidays(rt, roster, tw, twilio, work,
                                                          clock):
    # 2026-W51 ends on Thursday 17 December; the winter break leaves 2026-W52 without school
    week(rt, tw, work, clock, thursday=datetime.fromisoformat("2026-12-17T14:00:00+06:00"))
    say(tw, work, RAHIMA, "না", "১")
    assert twilio.messages()[-1]["Body"] == \
        "জানানোর জন্য ধন্যবাদ। ছুটির পরে নতুন কাজ আসবে। ৫ মিনিটের চেষ্টাও অনেক!"


def test_when_sunday_is_a_holiday_the_thanks_names_the_first_school_day(rt, clock, tmp_path):
    """weekly.reflect_thanks used to say রবিবার always: it names the next week's first day."""
    from dataclasses import replace

    from bot.campaigns.calendar import Calendar
    from bot.flows.actions import Context, next_week

    cal = rt.calendar
    sunday = datetime(2026, 12, 6).date()
    holiday = Calendar(cal.tz, cal.window_start, cal.window_end, {**cal.holidays,
                                                                  sunday: "test holiday"})
    with rt.db.session() as db:
        person = Person(phone="+8801811999999", name="ক", role="teacher", language="bn",
                        channel="sms", created_at=clock())
        ctx = Context(db=db, person=person, run=None, now=THURSDAY_14,
                      catalogues=rt.catalogues, calendar=holiday)
        assert next_week(ctx) == {"next": "আগামী সোমবার"}
        assert next_week(replace(ctx, calendar=cal)) == {"next": "আগামী রবিবার"}
        person.language = "en"
        assert next_week(replace(ctx, calendar=cal)) == {"next": "on Sunday"}
