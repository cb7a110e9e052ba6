"""Officers' digests, headteachers' summaries and recognition, on the world of
tests/digest_world.py: what they count, who sees what, the SMS budget, and that nothing is sent
to a nominee without an officer's yes."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from digest_world import (
    AREA_PEOPLE,
    DHAKA,
    HEADS,
    SCHOOLS,
    TEACHERS,
    WEEKS,
    build,
    reflection_at,
)
from sqlalchemy import func, select

from bot.channels.segments import count
from bot.cli import main
from bot.contacts.jurisdiction import Area, area_of, schools_in
from bot.digests import digest, figures, recognition, rollup
from bot.digests.area import Figures
from bot.digests.compose import area_pieces, head_pieces, question_pieces
from bot.digests.digest import PAGE, WEEKLY, Tools
from bot.digests.figures import SchoolWeek
from bot.digests.preview import preview
from bot.digests.jobs import congratulate, finalise
from bot.digests.text import HINT, Writer, paginate, short_name
from bot.store.models import (
    Answer,
    Figure,
    FigureRefresh,
    Message,
    Person,
    Question,
    Recognition,
    School,
)

THURSDAY_5PM = datetime(2026, 12, 3, 17, 0, tzinfo=DHAKA)  # 2026-W49's last school day
WEEK = "2026-W49"


@pytest.fixture
def world(rt, clock):
    clock.current = THURSDAY_5PM
    with rt.db.session() as db:
        return build(db)


def tools(rt) -> Tools:
    return Tools(catalogues=rt.catalogues, calendar=rt.calendar, levels=rt.levels)


def person(db, name) -> Person:
    return db.execute(select(Person).where(Person.name == name)).scalar_one()


# -- one place for a school's week ------------------------------------------------------------
def test_school_week_and_the_rollup_count_every_school_alike(rt, world):
    with rt.db.session() as db:
        for week in WEEKS:
            # the campaign rows' index, as the digests read them; school_week joins the runs
            rollup.refresh(db, rt.calendar, week, rt.now(),
                           figures.reflection_campaigns(rt.campaigns))
    with rt.db.session() as db:
        for week in WEEKS:
            kept = {}
            for school_id, metric, value in db.execute(
                    select(Figure.school_id, Figure.metric, Figure.value)
                    .where(Figure.week == week)):
                kept.setdefault(school_id, Counter())[metric] = value
            for emis, school_id in world.schools.items():
                live = figures.school_week(db, school_id, week, rt.calendar)
                k = kept.get(school_id, Counter())
                assert (live.teachers, live.active, live.asked, live.answered, len(live.tried),
                        len(live.sharers), live.joined, live.opted_out, live.assessments) == (
                    k["teachers"], k["active"], k["asked"], k["answered"], k["tried"],
                    k["shared"], k["joined"], k["opted_out"], k["assessments"]), (week, emis)
                assert live.obstacles == figures.prefixed(k, figures.OBSTACLE), (week, emis)
                assert live.levels == {int(n): v for n, v in
                                       figures.prefixed(k, figures.LEVEL).items()}, (week, emis)


def test_a_schools_week_in_numbers(rt, world):
    with rt.db.session() as db:
        fig = figures.school_week(db, world.schools["91010101"], WEEK, rt.calendar)
    assert (fig.teachers, fig.active, fig.asked, fig.answered) == (4, 4, 4, 3)
    assert fig.tried == ("আনজলি দাস", "রহিমা বেগম") and fig.sharers == ("রহিমা বেগম",)
    assert fig.obstacles == {"materials": 1, "time": 1} and fig.top_obstacle == "time"
    assert (fig.meeting, fig.practised, fig.assessments) == (True, True, 1)
    assert fig.levels == {4: 1, 3: 1, 2: 2, 1: 1}


def test_an_upazilas_week_from_the_rollup(rt, world):
    from bot.digests import area as areas

    with rt.db.session() as db:
        fig = areas.weekly(db, rt.calendar, Area("ভোলা", "চরফ্যাশন"), WEEK, rt.now())
        total, listed = areas.visit_list(db, rt.calendar, Area("ভোলা", "চরফ্যাশন"), WEEK,
                                         rt.now())
    assert (fig.schools, fig.teachers, fig.active, fig.asked, fig.answered, fig.tried) == (
        4, 8, 8, 6, 4, 2)
    assert fig.meetings == 1 and fig.top_obstacle == "time"
    # no meeting and no one tried in W47-W49: উত্তর চর আইচা (never) and দক্ষিণ আইচা (W46
    # only); নীলকমল had a meeting in W48, so it is not on the list
    assert (fig.visit, total) == (2, 2)
    assert [emis for emis, _ in listed] == ["91010102", "91010103"]  # more teachers first
    assert fig.assessments == 1 and fig.last_assessments == 2
    assert fig.levels == Counter({4: 1, 3: 1, 2: 2, 1: 1})


def test_a_late_answer_is_counted_once_the_rollup_is_older_than_it_may_be(rt, world, clock):
    area = Area("ভোলা", "চরফ্যাশন")
    with rt.db.session() as db:
        rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now())
        before = rollup.totals(db, area, [WEEK])[WEEK]["tried"]
        sumi = person(db, "সুমি আক্তার")
        run_id = db.execute(select(Answer.run_id).join(Person, Person.id == sumi.id)
                            .limit(1)).scalar()
    from bot.store.models import CampaignRun

    with rt.db.session() as db:
        run_id = db.execute(select(CampaignRun.flow_run_id).where(
            CampaignRun.person_id == sumi.id, CampaignRun.week == WEEK)).scalar()
        db.add(Answer(run_id=run_id, field="tried", value="yes", created_at=rt.now()))
    with rt.db.session() as db:  # fresh for FRESH_FOR: read as it was
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 0
        assert rollup.totals(db, area, [WEEK])[WEEK]["tried"] == before
    clock.advance(seconds=rollup.FRESH_FOR.total_seconds() + 1)
    with rt.db.session() as db:
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 1
        assert rollup.totals(db, area, [WEEK])[WEEK]["tried"] == before + 1
    # a week whose answers are final is not worked out again
    clock.advance(days=30)
    with rt.db.session() as db:
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 1  # once, after final
    clock.advance(days=30)
    with rt.db.session() as db:
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 0


# -- scoping -----------------------------------------------------------------------------------
def visible_schools(db, who) -> set[str]:
    return set(db.execute(select(School.emis).where(*schools_in(area_of(who)))).scalars())


def test_each_person_sees_only_their_own_area(rt, world):
    with rt.db.session() as db:
        assert visible_schools(db, person(db, "নাসরিন আক্তার")) == {
            "91010101", "91010102", "91010103", "91010104"}
        assert visible_schools(db, person(db, "ফারহানা ইয়াসমিন")) == {
            "91010101", "91010102", "91010103", "91010104"}
        assert visible_schools(db, person(db, "আবুল কালাম")) == {
            e for e, (_, _, d) in SCHOOLS.items() if d == "ভোলা"}
        # two upazilas called সদর, in two districts: each officer sees only their own
        assert visible_schools(db, person(db, "রাশেদা পারভীন")) == {"92010101"}
        assert visible_schools(db, person(db, "Selina Hossain")) == {"91030101"}
        assert visible_schools(db, person(db, "মোঃ করিম উদ্দিন")) == {"91010101"}
        assert visible_schools(db, person(db, "রহিমা বেগম")) == set()  # a teacher: nothing
        lost = person(db, "নাসরিন আক্তার")
        lost.district = None  # an officer whose row lost its district sees nothing, not all
        assert visible_schools(db, lost) == set()
        db.rollback()


def everything_said(rt, db, who) -> str:
    """Every text a person can get: the digest's every page on both channels, the visit list,
    and the detail of every school in the world asked by EMIS code."""
    t = tools(rt)
    said = []
    for channel in ("sms", "whatsapp"):
        said += digest.officer(db, t, who, WEEK, rt.now(), channel)["parts"]
        said += digest.visit_pages(db, t, who, WEEK, rt.now(), channel)["parts"]
        said += [digest.school(db, t, who, emis, WEEK, rt.now(), channel) for emis in SCHOOLS]
    return "\n".join(said)


OTHER_PLACES = {  # who: what they must never read (another upazila's schools and teachers)
    "নাসরিন আক্তার": ("লালমোহন", "সদর", "বাঘাইছড়ি", "রাঙ্গামাটি"),
    "রাশেদা পারভীন": ("চরফ্যাশন", "আইচা", "নীলকমল", "লালমোহন", "ভোলা", "বাঘাইছড়ি"),
}


@pytest.mark.parametrize("who", sorted(OTHER_PLACES))
def test_an_upazila_officer_never_reads_another_upazilas_school_or_teacher(rt, world, who):
    with rt.db.session() as db:
        officer = person(db, who)
        mine = visible_schools(db, officer)
        said = everything_said(rt, db, officer)
    from bot.i18n import ascii_digits

    said = ascii_digits(said)
    for emis, (name, _, _) in SCHOOLS.items():
        if emis not in mine:
            assert emis not in said and short_name(name) not in said, (who, emis)
    for teacher, (_, emis, _) in TEACHERS.items():
        if emis not in mine:
            assert teacher not in said, (who, teacher)
    for word in OTHER_PLACES[who]:
        assert word not in said, (who, word)


def test_the_weekly_export_is_scoped_and_names_no_one(rt, world):
    result = CliRunner().invoke(main, ["export", "weekly", "--format", "csv", "--upazila", "সদর",
                                       "--district", "রাঙ্গামাটি", "--week", WEEK])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["week"], r["school_emis"]) for r in table] == [(WEEK, "92010101")]
    assert (table[0]["teachers"], table[0]["tried"], table[0]["meeting"]) == ("1", "1", "1")
    assert (table[0]["assessments"], table[0]["level_4"], table[0]["level_3"]) == ("1", "2", "2")
    for name in list(TEACHERS) + list(HEADS) + list(AREA_PEOPLE):
        assert name not in result.stdout
    assert "+880" not in result.stdout


def test_the_weekly_export_has_a_row_per_school_and_week(rt, world):
    weeks = ["--week", "2026-W48", "--week", WEEK]
    result = CliRunner().invoke(main, ["export", "weekly", "--district", "ভোলা", *weeks])
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    bhola = sorted(e for e, (_, _, d) in SCHOOLS.items() if d == "ভোলা")
    assert [(r["week"], r["school_emis"]) for r in table] == [
        (w, e) for w in ("2026-W48", WEEK) for e in bhola]
    row = next(r for r in table if r["week"] == WEEK and r["school_emis"] == "91010101")
    assert {k: row[k] for k in ("asked", "answered", "tried", "shared", "obstacle_time",
                                "obstacle_materials", "meeting", "walks")} == {
        "asked": "4", "answered": "3", "tried": "2", "shared": "1", "obstacle_time": "1",
        "obstacle_materials": "1", "meeting": "1", "walks": "1"}
    idle = next(r for r in table if r["week"] == WEEK and r["school_emis"] == "91010102")
    assert (idle["tried"], idle["meeting"]) == ("0", "")  # nothing reported: left empty


# -- the SMS budget ----------------------------------------------------------------------------
BIG = Figures(area=Area("ভোলা", "চরফ্যাশন"), period=WEEK, week=WEEK, schools=1234,
              teachers=15000, active=12345, joined=1234, opted_out=123, asked=12000,
              answered=9000, tried=6000, meetings=1111, visit=1111,
              obstacles=Counter(understanding=5000), assessments=12345,
              levels=Counter({0: 100, 1: 200, 2: 300, 3: 250, 4: 150}), last_assessments=11000,
              last_levels=Counter({0: 150, 1: 250, 2: 300, 3: 200, 4: 100}),
              behind=[("বাঘাইছড়ি", 1, 10), ("গোয়াইনঘাট", 22, 100), ("লালমোহন", 3, 10)])
WORST = Figures(**{**BIG.__dict__, **{k: 99999 for k in (
    "schools", "teachers", "active", "joined", "opted_out", "asked", "answered", "tried",
    "meetings", "visit", "assessments", "last_assessments")}})
SCHOOL_LIST = [(f"9{i:07d}", "উত্তর চর আইচা সরকারি প্রাথমিক বিদ্যালয়") for i in range(60)]


def pages(rt, fig, language, role="officer", channel="sms"):
    w = Writer(rt.catalogues, language, channel, [0, 1, 2, 3, 4])
    key = WEEKLY[channel]

    def first(body):
        return w.t(key, area="গোয়াইনঘাট", text=body)
    parts = paginate(area_pieces(w, fig, role, SCHOOL_LIST), w.sep, first,
                     lambda body: w.t(PAGE, text=body, page=99, pages=99), w.fits, w.t(HINT))
    return [first(parts[0])] + [w.t(PAGE, text=p, page=i, pages=len(parts))
                                for i, p in enumerate(parts[1:], 2)]


@pytest.mark.parametrize("language", ["bn", "en", "bn-Latn"])
@pytest.mark.parametrize("role", ["officer", "ambassador"])
def test_every_sms_of_a_digest_fits_two_segments_at_five_digit_counts(rt, language, role):
    for fig in (BIG, WORST):
        sent = pages(rt, fig, language, role)
        assert len(sent) > 3  # the schools' list runs over pages
        for text in sent:
            assert count(text).segments <= 2, text
    # with 5-digit teacher counts, the first SMS still says the week's essentials
    first = pages(rt, BIG, language, role)[0]
    w = Writer(rt.catalogues, language, "sms", [0, 1, 2, 3, 4])
    for piece in area_pieces(w, BIG, role, [])[:4]:  # reach, practice, meetings, visits
        assert piece in first
    assert w.t(HINT) in first


def test_a_headteachers_summary_pages_fit_two_segments_with_long_names(rt):
    long = [f"মোছাম্মৎ খাদিজাতুল কোবরা {i}" for i in range(9)]
    week = SchoolWeek(school_id=1, week=WEEK, asked=12, answered=10, tried=tuple(long),
                      obstacles={"understanding": 3})
    for language in ("bn", "en", "bn-Latn"):
        w = Writer(rt.catalogues, language, "sms", [0, 1, 2, 3, 4])

        def first(body):
            return w.t(digest.HEAD_SUMMARY, school="উত্তর চর আইচা সপ্রাবি", text=body)
        asked = question_pieces(w, [(long[0], "প্রশ্ন " * 60)] * 3)
        pieces = head_pieces(w, week, asked, Counter({1: 20, 3: 5}), 5,
                             lambda piece: w.fits(first(piece)))
        parts = paginate(pieces, w.sep, first, lambda b: w.t(PAGE, text=b, page=99, pages=99),
                         w.fits, w.t(HINT))
        assert count(first(parts[0])).segments <= 2
        assert all(count(w.t(PAGE, text=p, page=9, pages=9)).segments <= 2 for p in parts[1:])
        assert "+" in parts[0] or w.t("head.more_people", count=1).split()[0] in parts[0]


# -- recognition --------------------------------------------------------------------------------
SUNDAY = datetime(2026, 11, 29, 11, 0, tzinfo=DHAKA)  # 2026-W49, a recognition week


def nominate(rt, clock, who="নাসরিন আক্তার"):
    clock.current = SUNDAY
    with rt.db.session() as db:
        officer = person(db, who)
        return officer.id, recognition.nominate(db, rt.calendar, area_of(officer), WEEK,
                                                rt.now())


def sent_to(rt) -> list[str]:
    with rt.db.session() as db:
        return list(db.execute(select(Person.name).join(Message, Message.person_id == Person.id)
                               .where(Message.direction == "out").order_by(Message.id))
                    .scalars())


def test_nominees_come_from_the_officers_upazila(rt, world, clock):
    _, found = nominate(rt, clock)
    with rt.db.session() as db:
        assert db.get(Person, found["teacher"].person_id).name == "রহিমা বেগম"
        assert db.get(Person, found["headteacher"].person_id).name == "মোঃ করিম উদ্দিন"
        assert (found["teacher"].score, found["teacher"].weeks) == (3, 4)
    _, again = nominate(rt, clock)  # a second officer's preparation finds the same ones
    assert {k: r.id for k, r in again.items()} == {k: r.id for k, r in found.items()}
    _, sadar = nominate(rt, clock, "রাশেদা পারভীন")
    with rt.db.session() as db:
        assert db.get(Person, sadar["teacher"].person_id).name == "সুচিত্রা চাকমা"


def test_nothing_is_sent_to_a_nominee_without_an_officers_yes(rt, world, clock, work):
    officer_id, found = nominate(rt, clock)
    assert congratulate() == 0 and sent_to(rt) == []
    with rt.db.session() as db:
        others = [person(db, "রাশেদা পারভীন"), person(db, "ফারহানা ইয়াসমিন"),
                  person(db, "আবুল কালাম")]
        # another upazila's officer, the upazila's ambassador and the district officer
        # cannot decide for চরফ্যাশন
        assert [recognition.decide(db, found["teacher"].id, o, True, rt.now())
                for o in others] == ["refused"] * 3
        officer = db.get(Person, officer_id)
        assert recognition.decide(db, found["headteacher"].id, officer, False, rt.now()) == \
            "skipped"
    assert congratulate() == 0 and sent_to(rt) == []
    with rt.db.session() as db:
        officer = db.get(Person, officer_id)
        assert recognition.decide(db, found["teacher"].id, officer, True, rt.now()) == \
            "confirmed"
        assert recognition.decide(db, found["teacher"].id, officer, False, rt.now()) == \
            "decided"  # the first answer decides
    assert congratulate() == 1 and congratulate() == 0  # sent once
    work()
    assert sent_to(rt) == ["রহিমা বেগম", "মোঃ করিম উদ্দিন"]


def test_a_confirmed_congratulation_waits_for_the_sending_window(rt, world, clock, work):
    officer_id, found = nominate(rt, clock)
    with rt.db.session() as db:
        recognition.decide(db, found["teacher"].id, db.get(Person, officer_id), True, rt.now())
    clock.current = datetime(2026, 11, 29, 21, 30, tzinfo=DHAKA)
    assert congratulate() == 0
    clock.current = datetime(2026, 11, 30, 9, 0, tzinfo=DHAKA)
    assert congratulate() == 1


def test_someone_congratulated_is_not_nominated_again_for_a_while(rt, world, clock):
    officer_id, found = nominate(rt, clock)
    with rt.db.session() as db:
        recognition.decide(db, found["teacher"].id, db.get(Person, officer_id), True, rt.now())
    clock.current = SUNDAY + timedelta(weeks=2)
    with rt.db.session() as db:
        later = recognition.nominate(db, rt.calendar, Area("ভোলা", "চরফ্যাশন"), "2026-W51",
                                     rt.now())
        assert "teacher" not in later or db.get(
            Person, later["teacher"].person_id).name != "রহিমা বেগম"


# -- preview and roster --------------------------------------------------------------------------
def test_preview_prints_the_sms_then_a_blank_line_then_whatsapp_and_changes_nothing(rt, world):
    result = CliRunner().invoke(main, ["digest", "preview", "--officer", "01911000201",
                                       "--week", WEEK])
    assert result.exit_code == 0, result.output
    sms, whatsapp = result.stdout.rstrip("\n").split("\n\n", 1)
    assert sms.startswith("এ সপ্তাহে: সক্রিয় শিক্ষক ৮/৮।") and count(sms).segments <= 2
    assert whatsapp.startswith("*চরফ্যাশন, এ সপ্তাহে*\n") and "৯১০১০১০৩" in whatsapp
    with rt.db.session() as db:
        assert db.execute(select(func.count()).select_from(Figure)).scalar() == 0
        assert db.execute(select(func.count()).select_from(FigureRefresh)).scalar() == 0
        head = person(db, "মোঃ করিম উদ্দিন")
        shown = preview(db, tools(rt), rt.flows, head, WEEK, rt.now())
        db.rollback()
    assert "আনজলি দাস" in shown["whatsapp"][0] and "মডিউল ৪" in shown["whatsapp"][0]
    with rt.db.session() as db:  # previewing forwarded no question
        assert db.execute(select(func.count()).select_from(Question)
                          .where(Question.forwarded_at.is_not(None))).scalar() == 0


def test_preview_refuses_a_teacher_and_an_unknown_number(rt, world):
    teacher = CliRunner().invoke(main, ["digest", "preview", "--officer", "+8801911000001"])
    assert teacher.exit_code != 0 and "teacher gets no digest" in teacher.output
    unknown = CliRunner().invoke(main, ["digest", "preview", "--officer", "01999999999"])
    assert unknown.exit_code != 0 and "no one on the roster" in unknown.output


def test_a_headteachers_questions_are_forwarded_once(rt, world, clock):
    with rt.db.session() as db:
        head = person(db, "মোঃ করিম উদ্দিন")
        first = digest.headteacher(db, tools(rt), head, WEEK, rt.now(), "whatsapp")
    with rt.db.session() as db:
        again = digest.headteacher(db, tools(rt), person(db, head.name), WEEK, rt.now(),
                                   "whatsapp")
    assert "মডিউল ৪" in first["text"] and "মডিউল ৪" not in again["text"]


def test_the_roster_takes_ambassadors_and_wants_an_officers_district(rt, tmp_path):
    from bot.contacts.roster import import_csv

    path = tmp_path / "roster.csv"
    path.write_text(
        "phone,name,role,school_emis,school_name,upazila,district,language,channel\n"
        "01711000041,Amb,ambassador,,,চরফ্যাশন,ভোলা,bn,whatsapp\n"
        "01711000042,No District,officer,,,চরফ্যাশন,,bn,sms\n"
        "01711000043,Amb Alone,ambassador,,,,ভোলা,bn,sms\n"
        "01711000044,DPEO,officer,,,,ভোলা,bn,sms\n", encoding="utf-8")
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
    assert report.created == 2 and [line for line, _ in report.errors] == [3, 4]
    assert "district" in report.errors[0][1] and "upazila" in report.errors[1][1]
    with rt.db.session() as db:
        amb = person(db, "Amb")
        assert area_of(amb) == Area("ভোলা", "চরফ্যাশন")
        assert area_of(person(db, "DPEO")).level == "district"


def test_only_officers_of_the_right_level_are_in_a_digests_audience(rt, world):
    with rt.db.session() as db:
        for name in AREA_PEOPLE:
            person(db, name).onboarded_at = rt.now()
    with rt.db.session() as db:
        def audience(campaign):
            return sorted(db.execute(select(Person.name).where(
                *rt.campaigns[campaign].audience.conditions())).scalars())
        assert audience("upazila_digest") == sorted(
            ["নাসরিন আক্তার", "ফারহানা ইয়াসমিন", "রাশেদা পারভীন", "Selina Hossain"])
        assert audience("district_digest") == ["আবুল কালাম"]
        assert audience("recognition") == sorted(
            ["নাসরিন আক্তার", "রাশেদা পারভীন", "Selina Hossain"])
        officer = person(db, "আবুল কালাম")
        assert not rt.campaigns["upazila_digest"].audience.includes(officer)
        assert rt.campaigns["district_digest"].audience.includes(officer)


def test_schools_short_names():
    assert short_name("চরফ্যাশন সরকারি প্রাথমিক বিদ্যালয়") == "চরফ্যাশন সপ্রাবি"
    assert short_name("Char Fasson Government Primary School") == "Char Fasson GPS"
    assert len(short_name("ক" * 80)) <= 24 and short_name("ক" * 80).endswith("…")


def test_a_week_counts_in_the_month_of_its_thursday(rt):
    assert figures.month_of("2026-W49") == "2026-12"  # Sunday 29 November .. Thursday 3 Dec
    assert figures.weeks_of_month(rt.calendar, "2026-11") == [
        "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    # a holiday week never makes a school look idle: W52 and W53 are the winter break
    assert figures.school_weeks_back(rt.calendar, "2027-W01", 3) == [
        "2026-W50", "2026-W51", "2027-W01"]
    assert re.fullmatch(r"\d{4}-W\d{2}", reflection_at(WEEK).strftime("%G-W%V"))


# -- what a hostile or careless user sends -----------------------------------------------------
def test_an_ambassador_is_told_at_onboarding_what_they_will_get(rt, world, tw, work, twilio):
    phone = AREA_PEOPLE["ফারহানা ইয়াসমিন"][0]
    for text in ("hi", "1", "2"):
        tw.sms(phone, text)
        work()
    said = [m["Body"] for m in twilio.messages()]
    assert any("ফোন করা দরকার, সেগুলোর তালিকা" in body for body in said), said
    with rt.db.session() as db:
        assert person(db, "ফারহানা ইয়াসমিন").onboarded_at is not None


def digest_for(rt, clock, tw, work, name, *replies):
    """The officer's weekly digest, then their replies; returns what each turn sent them."""
    clock.current = THURSDAY_5PM
    with rt.db.session() as db:
        person(db, name).onboarded_at = rt.now()
    from bot.campaigns import fanout

    fanout.plan(rt, "upazila_digest", WEEK, rt.now())
    fanout.dispatch(rt, rt.now())
    work()
    phone = AREA_PEOPLE[name][0]
    turns = []
    for text in replies:
        with rt.db.session() as db:
            last = db.execute(select(func.max(Message.id))).scalar()
        tw.sms(phone, text)
        work()
        with rt.db.session() as db:
            turns.append(list(db.execute(select(Message.body).where(
                Message.id > last, Message.direction == "out", Message.address == phone)
                .order_by(Message.id)).scalars()))
    return turns


def test_an_officers_odd_replies_get_a_polite_answer_and_lose_nothing(rt, world, clock, tw,
                                                                    work):
    turns = digest_for(rt, clock, tw, work, "নাসরিন আক্তার",
                       "x" * 5000,  # oversized
                       "9" * 50,  # too many digits for an EMIS code
                       "১",  # a late 1 with no nomination waiting
                       "৯১০১০১০১ আর ৯২০১০১০১",  # two codes: the longest first one is looked up
                       "আরো।")  # punctuation
    help_ = rt.catalogues.text("digest.menu_help", "bn")
    assert turns[0] == [help_] and turns[1] == [help_] and turns[2] == [help_]
    assert turns[3][0].startswith("স্কুল ৯১০১০১০১: চরফ্যাশন সপ্রাবি")
    assert turns[4][0].endswith("— পাতা ২/৩")
    with rt.db.session() as db:  # every message was recorded and handled
        assert db.execute(select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.status != "handled")).scalar() == 0


def test_an_officer_with_no_district_is_skipped_not_shown_the_country(rt, world, clock, work):
    from bot.campaigns import fanout
    from bot.store.models import CampaignRun

    clock.current = THURSDAY_5PM
    with rt.db.session() as db:
        officer = person(db, "নাসরিন আক্তার")
        officer.onboarded_at, officer.district = rt.now(), None
    fanout.plan(rt, "upazila_digest", WEEK, rt.now())  # not in the audience: no district
    with rt.db.session() as db:
        assert db.execute(select(func.count()).select_from(CampaignRun).where(
            CampaignRun.campaign == "upazila_digest")).scalar() == 0
        officer = person(db, "নাসরিন আক্তার")
        with pytest.raises(digest.NoArea):
            digest.officer(db, tools(rt), officer, WEEK, rt.now(), "sms")


def test_a_nominee_who_stopped_before_the_yes_gets_nothing(rt, world, clock, work):
    officer_id, found = nominate(rt, clock)
    with rt.db.session() as db:
        person(db, "রহিমা বেগম").opted_out_at = rt.now()
        recognition.decide(db, found["teacher"].id, db.get(Person, officer_id), True, rt.now())
    assert congratulate() == 0
    work()
    assert sent_to(rt) == []  # nor her headteacher: she is named to no one once she left
    with rt.db.session() as db:
        assert db.get(Recognition, found["teacher"].id).status == recognition.WITHDRAWN


def test_last_weeks_figures_are_finalised_once_at_night_not_before(rt, world, clock):
    with rt.db.session() as db:  # worked out on Thursday, while answers could still come
        rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now())
    clock.current = datetime(2026, 12, 6, 20, 0, tzinfo=DHAKA)  # Sunday: not final yet
    assert finalise() == 0
    clock.current = datetime(2026, 12, 7, 1, 0, tzinfo=DHAKA)  # Monday night: final
    assert finalise() == 1 and finalise() == 0
    with rt.db.session() as db:  # Thursday's digests then refresh only their own week
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 0


def test_a_rolled_back_refresh_is_not_remembered_as_fresh(rt, world):
    with rt.db.sessions() as db:  # a preview: works the week out, then rolls back
        with db.begin():
            assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 1
            assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 0
            db.rollback()
    with rt.db.session() as db:
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 1
        assert db.execute(select(func.count()).select_from(Figure)).scalar() > 0
    with rt.db.session() as db:  # now committed: seen fresh, not looked up again
        assert rollup.ensure_fresh(db, rt.calendar, [WEEK], rt.now()) == 0
