"""Hostile tests of the officers' digests, headteachers' summaries, recognition and
jurisdictions (issue 12), on the world of tests/digest_world.py. Each test is an attack that
once succeeded: a wrong recipient, a name shown to someone it should not be, a figure that
misleads, a roster row that quietly moves a school out of its officer's sight."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from digest_world import DHAKA, build
from sqlalchemy import select

from bot.cli import main
from bot.contacts.jurisdiction import area_of, schools_in
from bot.contacts.roster import import_csv
from bot.digests import digest, recognition
from bot.digests.digest import Tools
from bot.digests.jobs import congratulate
from bot.store.models import CampaignRun, Message, Person, School

THURSDAY_5PM = datetime(2026, 12, 3, 17, 0, tzinfo=DHAKA)  # 2026-W49's last school day
SUNDAY = datetime(2026, 11, 29, 11, 0, tzinfo=DHAKA)
WEEK = "2026-W49"
HEADER = "phone,name,role,school_emis,school_name,upazila,district,language,channel\n"


@pytest.fixture
def world(rt, clock):
    clock.current = THURSDAY_5PM
    with rt.db.session() as db:
        return build(db)


def tools(rt) -> Tools:
    return Tools(catalogues=rt.catalogues, calendar=rt.calendar, levels=rt.levels)


def person(db, name) -> Person:
    return db.execute(select(Person).where(Person.name == name)).scalar_one()


def visible(db, who) -> set[str]:
    return set(db.execute(select(School.emis).where(*schools_in(area_of(who)))).scalars())


def sent_to(rt) -> list[str]:
    with rt.db.session() as db:
        return list(db.execute(select(Person.name).join(Message, Message.person_id == Person.id)
                               .where(Message.direction == "out").order_by(Message.id))
                    .scalars())


def bodies(rt) -> list[str]:
    with rt.db.session() as db:
        return list(db.execute(select(Message.body).where(Message.direction == "out")
                               .order_by(Message.id)).scalars())


# -- names of people who stopped ----------------------------------------------------------------
def test_a_headteacher_is_not_sent_the_question_of_a_teacher_who_stopped(rt, world):
    """আনজলি asked a question on Wednesday and sent STOP on Thursday morning: her name and her
    words are not forwarded to her headteacher afterwards."""
    with rt.db.session() as db:
        person(db, "আনজলি দাস").opted_out_at = THURSDAY_5PM - timedelta(hours=6)
    with rt.db.session() as db:
        shown = digest.headteacher(db, tools(rt), person(db, "মোঃ করিম উদ্দিন"), WEEK,
                                   rt.now(), "whatsapp")
    text = "\n".join(shown["parts"])
    assert "মডিউল ৪" not in text and "আনজলি" not in text
    assert "বড় ক্লাসে জোড়ায়" in text  # কামরুল's question still goes


def test_no_congratulation_names_a_teacher_who_stopped_before_the_yes(rt, world, clock, work):
    """The teacher stopped between the nomination and the officer's yes: nobody is told she was
    recognised (not even her headteacher): she is out of the programme."""
    clock.current = SUNDAY
    with rt.db.session() as db:
        officer = person(db, "নাসরিন আক্তার")
        found = recognition.nominate(db, rt.calendar, area_of(officer), WEEK, rt.now())
        person(db, "রহিমা বেগম").opted_out_at = rt.now()
        assert recognition.decide(db, found["teacher"].id, officer, True, rt.now()) == \
            "confirmed"
    congratulate()
    work()
    assert not any("রহিমা" in body for body in bodies(rt))


def test_a_second_officer_is_not_shown_a_nominee_who_stopped_since(rt, world, clock):
    """Two officers of চরফ্যাশন: the nominations are made for the first on Sunday morning; the
    teacher stops at noon; the second officer's message at 14:00 does not name her."""
    from bot.campaigns.cycle import Preparing
    from bot.digests.preparations import nominations

    clock.current = SUNDAY
    with rt.db.session() as db:
        first = person(db, "নাসরিন আক্তার")
        recognition.nominate(db, rt.calendar, area_of(first), WEEK, rt.now())
        db.add(Person(phone="+8801911000299", name="দ্বিতীয় অফিসার", role="officer",
                      upazila="চরফ্যাশন", district="ভোলা", language="bn", channel="sms",
                      created_at=rt.now(), onboarded_at=rt.now()))
    clock.current = SUNDAY + timedelta(hours=1)
    with rt.db.session() as db:
        person(db, "রহিমা বেগম").opted_out_at = rt.now()
    clock.current = SUNDAY + timedelta(hours=3)
    with rt.db.session() as db:
        second = person(db, "দ্বিতীয় অফিসার")
        row = CampaignRun(campaign="recognition", week=WEEK, person_id=second.id,
                          status="queued", planned_at=rt.now())
        fields = nominations(Preparing(db=db, person=second, row=row,
                                       campaign=rt.campaigns["recognition"], content=rt.content,
                                       now=rt.now(), calendar=rt.calendar,
                                       catalogues=rt.catalogues, levels=rt.levels,
                                       campaigns=rt.campaigns))
        db.rollback()
    assert fields["teacher_nominee"] == ""
    assert fields["head_nominee"] == "মোঃ করিম উদ্দিন"


# -- jurisdictions from the roster --------------------------------------------------------------
def roster(rt, tmp_path, body: str):
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with rt.db.session() as db:
        return import_csv(db, path, rt.now())


def test_an_officer_row_typed_in_another_unicode_form_still_sees_their_schools(rt, tmp_path):
    """The school's rows say "বাঘাইছড়ি" with ড় as one letter, the officer's row (typed on
    another keyboard) as ড + nukta, with a doubled space in the district: the same place."""
    upazila = "\u09ac\u09be\u0998\u09be\u0987\u099b\u09dc\u09bf"  # ড় as U+09DC
    typed = upazila.replace("\u09dc", "\u09a1\u09bc")  # ড (U+09A1) + nukta (U+09BC)
    assert typed != upazila  # two spellings a reader cannot tell apart
    report = roster(rt, tmp_path,
                    f"01711000051,শিক্ষক,teacher,92020101,স্কুল,{upazila},রাঙ্গামাটি,bn,sms\n"
                    f"01711000052,অফিসার,officer,,,{typed},রাঙ্গামাটি  ,bn,sms\n")
    assert report.errors == []
    with rt.db.session() as db:
        assert visible(db, person(db, "অফিসার")) == {"92020101"}


def test_a_second_row_cannot_quietly_move_a_school_to_another_upazila(rt, tmp_path):
    """Two teachers of one school, the second row with a typo'd upazila: the last row used to
    win, and the whole school (its teachers, its figures) left its officer's digest."""
    report = roster(rt, tmp_path,
                    "01711000061,ক,teacher,91010101,চরফ্যাশন সপ্রাবি,চরফ্যাশন,ভোলা,bn,sms\n"
                    "01711000062,খ,teacher,91010101,চরফ্যাশন সপ্রাবি,লালমোহন,ভোলা,bn,sms\n"
                    "01711000063,অফিসার,officer,,,চরফ্যাশন,ভোলা,bn,sms\n")
    assert [line for line, _ in report.errors] == [3]
    assert "91010101" in report.errors[0][1]
    with rt.db.session() as db:
        assert visible(db, person(db, "অফিসার")) == {"91010101"}


def test_a_row_without_upazila_does_not_take_a_school_out_of_every_area(rt, tmp_path):
    report = roster(rt, tmp_path,
                    "01711000071,ক,teacher,91010101,চরফ্যাশন সপ্রাবি,চরফ্যাশন,ভোলা,bn,sms\n"
                    "01711000073,অফিসার,officer,,,চরফ্যাশন,ভোলা,bn,sms\n")
    assert report.errors == []
    report = roster(rt, tmp_path,  # a later file with the place columns left empty
                    "01711000072,খ,teacher,91010101,চরফ্যাশন সপ্রাবি,,,bn,sms\n")
    with rt.db.session() as db:
        assert visible(db, person(db, "অফিসার")) == {"91010101"}


def test_a_roster_value_too_long_for_its_column_is_a_line_error_not_a_crash(rt, tmp_path):
    """PostgreSQL refuses a 300-letter name (the column holds 200): the whole import used to
    fail with a traceback, the good rows with it."""
    report = roster(rt, tmp_path,
                    f"01711000081,{'ক' * 300},teacher,91010101,স্কুল,চরফ্যাশন,ভোলা,bn,sms\n"
                    "01711000082,খ,teacher,91010101,স্কুল,চরফ্যাশন,ভোলা,bn,sms\n")
    assert [line for line, _ in report.errors] == [2]
    with rt.db.session() as db:
        assert [p.name for p in db.execute(select(Person)).scalars()] == ["খ"]


# -- an area with nothing in it -----------------------------------------------------------------
def test_an_officer_whose_upazila_has_no_school_is_not_sent_zeros(rt, world, clock, work):
    """An officer row naming an upazila no school is in (renamed, or misspelt): a digest of
    "০/০ teachers, ০ schools" tells them their area does nothing. It is skipped, with why."""
    from bot.campaigns import fanout

    with rt.db.session() as db:
        db.add(Person(phone="+8801911000298", name="নতুন অফিসার", role="officer",
                      upazila="চরফ্যাসন", district="ভোলা", language="bn", channel="sms",
                      created_at=rt.now(), onboarded_at=rt.now()))
    fanout.plan(rt, "upazila_digest", WEEK, rt.now(), immediately=True)
    fanout.dispatch(rt, rt.now(), force=True, hand_over=fanout.deliver)
    work()
    assert sent_to(rt) == []
    with rt.db.session() as db:
        assert db.execute(select(CampaignRun.note).where(
            CampaignRun.campaign == "upazila_digest")).scalars().all() == ["no_schools"]


def test_the_weekly_export_will_not_mix_two_upazilas_of_one_name(rt, world):
    """`--upazila সদর` alone used to give both districts' সদর in one file."""
    result = CliRunner().invoke(main, ["export", "weekly", "--upazila", "সদর", "--week", WEEK])
    assert result.exit_code != 0
    assert "--district" in result.output
    assert "92010101" not in result.output and "91030101" not in result.output


# -- the SMS budget of a nomination ---------------------------------------------------------------
LONG_NAME = "মোছাম্মৎ খাদিজাতুল কোবরা আক্তারুজ্জামান চৌধুরী"


def test_a_nomination_of_a_long_named_teacher_fits_two_segments(rt, world, clock, work):
    """A nominee's name as long as Bangladeshi names run pushed the officer's question to a
    third segment (each one paid for). The name is cut; the school still says who it is."""
    from bot.campaigns import fanout
    from bot.channels.segments import count

    clock.current = SUNDAY
    with rt.db.session() as db:
        person(db, "রহিমা বেগম").name = LONG_NAME
        person(db, "মোঃ করিম উদ্দিন").name = "মোহাম্মদ আবুল কালাম আজাদ শামসুদ্দিন চৌধুরী"
        person(db, "নাসরিন আক্তার").onboarded_at = rt.now()
    fanout.plan(rt, "recognition", WEEK, rt.now(), immediately=True)
    fanout.dispatch(rt, rt.now(), force=True, hand_over=fanout.deliver)
    work()
    said = bodies(rt)
    assert said and said[0].startswith("প্রস্তাব: মোছাম্মৎ")
    assert all(count(body).segments <= 2 for body in said), said


def test_a_school_moved_to_another_upazila_takes_its_past_figures_along(rt, world, tmp_path):
    """A week whose answers are final is never worked out again: its upazila sums stayed with
    the upazila a school was in then, so a school the roster moved took none of its past
    along (and the old upazila's officer kept reading it)."""
    from bot.digests import rollup
    from bot.contacts.jurisdiction import Area

    with rt.db.session() as db:  # on 3 December, 2026-W48's answers are final
        rollup.ensure_fresh(db, rt.calendar, ["2026-W48"], rt.now())
    path = tmp_path / "roster.csv"  # the office moves চরফ্যাশন সপ্রাবি to লালমোহন
    path.write_text(HEADER + "01911000001,রহিমা বেগম,teacher,91010101,চরফ্যাশন সপ্রাবি,লালমোহন,"
                    "ভোলা,bn,sms\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    with rt.db.session() as db:
        rollup.ensure_fresh(db, rt.calendar, ["2026-W48"], rt.now())
        was = rollup.totals(db, Area("ভোলা", "চরফ্যাশন"), ["2026-W48"])["2026-W48"]
        now = rollup.totals(db, Area("ভোলা", "লালমোহন"), ["2026-W48"])["2026-W48"]
    assert (was["schools"], was["teachers"]) == (3, 4)
    assert (now["schools"], now["teachers"]) == (2, 5)
