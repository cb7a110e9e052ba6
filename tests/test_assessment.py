"""Assessment entry beyond the parser: the flow agrees with the level file, voice by keypad,
nothing is stored before the teacher confirms, what is saved, aggregates for the digests, the
CSV export round-trips, and every reply fits two SMS segments in its worst case."""
import csv
import io
import itertools
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.assessment import records as records
from bot.assessment.levels import scale
from bot.campaigns.content import load_content, text_in
from bot.channels.segments import count
from bot.cli import main
from bot.config import ROOT
from bot.flows import engine
from bot.flows.actions import ACTIONS
from bot.flows.definition import parse_flow
from bot.i18n import Catalogues
from bot.store.models import Assessment, AssessmentResult, FlowRun, Person

SCALE = scale(str(ROOT / "flows"))
FLOW = parse_flow((ROOT / "flows" / "assessment.yaml").read_text("utf-8"), "assessment.yaml",
                  set(ACTIONS))
CATS = Catalogues(ROOT / "locales")
CONTENT = load_content(ROOT / "flows" / "content")
GOLDEN = Path(__file__).parent / "testdata" / "engine" / "assessment_voice.yaml"
UPDATE = os.environ.get("SATHI_UPDATE_GOLDENS") == "1"
NOW = datetime(2026, 11, 24, 4, 0, tzinfo=timezone.utc)
RAHIMA, ANJALI, SUCHITRA, NASRIN = ("+8801711000001", "+8801711000002", "+8801711000004",
                                    "+8801711000005")


def test_the_flow_offers_exactly_the_levels_of_the_level_file():
    for k in range(1, 6):
        routes = FLOW.node(f"level_{k}")["routes"]
        assert routes[0]["number"] == SCALE.numbers_allowed
        assert sorted(routes[1]["number"] + routes[0]["number"]) == list(range(10))


# --- voice: the same flow by keypad (a golden engine transcript) -------------------------------

VOICE_INPUTS = ["2", "9", "3", "1", "1", "0", "2", "4", "4", "3", "2", "1", "1"]


def _voice_transcript():
    s, ev = engine.start(FLOW, {"role": "teacher", "language": "bn"}, "voice", NOW)
    turns = [{"start": "assess", "events": [e.as_dict() for e in ev]}]
    for digit in VOICE_INPUTS:
        s, ev = engine.resume(FLOW, s, engine.Input(text=digit, number=int(digit)), NOW)
        turns.append({"press": digit, "events": [e.as_dict() for e in ev]})
    return s, turns


def test_voice_keypad_entry_follows_the_golden_transcript():
    s, turns = _voice_transcript()
    if UPDATE:
        GOLDEN.write_text(yaml.safe_dump({"description": "Guided entry by phone keypad: "
                                          "voice prompts, a wrong key, read-back, change, save.",
                                          "turns": turns}, allow_unicode=True, sort_keys=False,
                                         width=100), encoding="utf-8")
    assert turns == yaml.safe_load(GOLDEN.read_text("utf-8"))["turns"]
    said = [e["key"] for t in turns for e in t["events"] if e["type"] == "msg_created"]
    assert said and all(k.endswith("_voice") for k in said
                        if k.split(".")[1] not in ("saved", "advice", "follow_up"))
    assert s["status"] == "ended" and s["result"] == "completed"
    assert [s["fields"][f"l{i}"] for i in range(1, 6)] == [4, 4, 3, 2, 1]


# --- through the webhook: nothing saved before "1" ---------------------------------------------

def _assessments(rt):
    with rt.db.session() as db:
        return db.execute(select(func.count(Assessment.id))).scalar()


def _talk(tw, work, phone, *texts, channel="sms"):
    for text in texts:
        tw.sms(phone, text, channel=channel)
        work()


def test_nothing_is_stored_before_the_teacher_confirms(rt, roster, tw, work):
    _talk(tw, work, RAHIMA, "A 2 3 1 1 0")
    assert _assessments(rt) == 0
    _talk(tw, work, RAHIMA, "2", "A 2 6 1 1 0", "2 3 1", "৩")
    assert _assessments(rt) == 0
    _talk(tw, work, RAHIMA, "বন্ধ")  # STOP wins inside the assessment: nothing half-saved
    assert _assessments(rt) == 0
    with rt.db.session() as db:
        assert db.execute(select(FlowRun.status).where(FlowRun.flow == "assessment")
                          .order_by(FlowRun.id.desc())).scalars().first() == "interrupted"
        assert db.execute(select(func.count(AssessmentResult.id))).scalar() == 0


def test_a_confirmed_entry_is_saved_with_its_school_grade_and_channel(rt, roster, tw, work):
    _talk(tw, work, ANJALI, "assess G2 4 3 2 1 0", "1", channel="whatsapp")
    with rt.db.session() as db:
        a = db.execute(select(Assessment)).scalar_one()
        assert records.levels_of(a) == [4, 3, 2, 1, 0]
        assert [r.slot for r in a.results] == [1, 2, 3, 4, 5]
        assert (a.grade, a.channel, a.school.emis, a.upazila, a.district) == (
            2, "whatsapp", "91010101", "চরফ্যাশন", "ভোলা")
        assert a.taken_at == rt.now()
    _talk(tw, work, ANJALI, "1", channel="whatsapp")  # a second "1" saves nothing twice
    assert _assessments(rt) == 1


def test_officers_are_not_asked_for_levels(rt, roster, tw, work, twilio):
    _talk(tw, work, NASRIN, "hi", "1", "1")  # onboarded
    _talk(tw, work, NASRIN, "A 2 3 1 1 0")
    assert _assessments(rt) == 0
    assert "শিক্ষার্থী" not in twilio.messages()[-1]["Body"]


# --- history, aggregates, export ---------------------------------------------------------------

def _person(db, phone):
    return db.execute(select(Person).where(Person.phone == phone)).scalar_one()


def _seed(rt):
    """Three teachers in two schools and two upazilas, one of them twice."""
    with rt.db.session() as db:
        r, a, s = _person(db, RAHIMA), _person(db, ANJALI), _person(db, SUCHITRA)
        records.save(db, r, [1, 1, 0, 0, 0], 2, "sms", NOW - timedelta(days=30))
        records.save(db, r, [2, 1, 1, 0, 0], 2, "sms", NOW)
        records.save(db, a, [4, 3, 3, 2, 2], None, "whatsapp", NOW - timedelta(days=3))
        records.save(db, s, [2, 2, 1, 1, 0], 1, "sms", NOW - timedelta(days=1))


def test_change_since_the_last_assessment_of_the_same_teacher_and_grade(rt, roster):
    _seed(rt)
    with rt.db.session() as db:
        r = _person(db, RAHIMA)
        latest = db.execute(select(Assessment).where(Assessment.person_id == r.id)
                            .order_by(Assessment.taken_at.desc())).scalars().first()
        before = records.previous(db, latest)
        assert records.levels_of(before) == [1, 1, 0, 0, 0]
        assert records.change(records.levels_of(before), records.levels_of(latest)) == \
            records.Change(up=2, same=3, down=0)
        other_grade = records.save(db, r, [0, 0, 0, 0, 0], 1, "sms", NOW + timedelta(days=1))
        assert records.previous(db, other_grade) is None


def test_focus_is_the_most_common_level_and_the_lower_on_a_tie():
    assert records.focus([2, 3, 1, 1, 0]) == 1
    assert records.focus([4, 4, 3, 3, 0]) == 3
    assert records.focus([0, 1, 2, 3, 4]) == 0


def test_aggregates_per_school_and_upazila(rt, roster):
    _seed(rt)
    with rt.db.session() as db:
        schools = {agg.key[0]: agg for agg in records.per_school(db).values()}
        charfashion = schools["91010101"]
        assert charfashion.teacher_count == 2 and charfashion.assessments == 3
        assert dict(charfashion.levels) == {0: 5, 1: 4, 2: 3, 3: 2, 4: 1}
        assert charfashion.latest == NOW
        upazilas = records.per_upazila(db)
        assert set(upazilas) == {("ভোলা", "চরফ্যাশন"), ("রাঙ্গামাটি", "বাঘাইছড়ি")}
        baghaichhari = upazilas[("রাঙ্গামাটি", "বাঘাইছড়ি")]
        assert (baghaichhari.teacher_count, dict(baghaichhari.levels)) == (1, {2: 2, 1: 2, 0: 1})
        recent = records.per_school(db, since=NOW - timedelta(days=7))
        assert {a.key[0]: a.assessments for a in recent.values()} == {"91010101": 2,
                                                                      "91020202": 1}


def _export(tmp_path, *args):
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["export", "assessments", "--format", "csv",
                                       "--output", str(out), *args])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))


def test_csv_export_round_trips_what_was_saved(rt, roster, tmp_path, tw, work):
    _seed(rt)
    _talk(tw, work, ANJALI, "assess G1 0 1 2 3 4", "1", channel="whatsapp")
    rows = _export(tmp_path)
    assert tuple(rows[0]) == records.EXPORT_COLUMNS
    with rt.db.session() as db:
        saved = {(a.id, r.slot): (a, r) for a in db.execute(select(Assessment)).scalars()
                 for r in a.results}
        assert len(rows) == len(saved) == 25
        for row in rows:
            a, r = saved[(int(row["assessment"]), int(row["slot"]))]
            assert int(row["level"]) == r.level
            assert row["grade"] == ("" if a.grade is None else str(a.grade))
            assert (row["school_emis"], row["school_name"], row["upazila"], row["district"]) == (
                a.school.emis, a.school.name, a.upazila, a.district)
            assert row["date"] == a.taken_at.astimezone(ZoneInfo(rt.settings.tz)).date().isoformat()
            assert int(row["teacher"]) == a.person_id
        phones_and_names = {p.phone for p in db.execute(select(Person)).scalars()} | \
            {p.name for p in db.execute(select(Person)).scalars()}
    text = (tmp_path / "out.csv").read_text("utf-8")
    assert not any(x in text for x in phones_and_names)
    assert not any(p.lstrip("+880") in text for p in phones_and_names if p.startswith("+"))


def test_csv_export_filters_by_upazila_and_local_date(rt, roster, tmp_path):
    _seed(rt)
    assert {r["upazila"] for r in _export(tmp_path, "--upazila", "বাঘাইছড়ি")} == {"বাঘাইছড়ি"}
    # NOW is 10:00 on 24 Nov in Dhaka: since 2026-11-24 keeps only that day's assessment
    rows = _export(tmp_path, "--since", "2026-11-24")
    assert {r["date"] for r in rows} == {"2026-11-24"} and len(rows) == 5
    assert len(_export(tmp_path, "--since", "2026-11-20")) == 15


# --- every reply fits two SMS segments, in its worst case --------------------------------------

def _worst_cases(lang):
    menu = ", ".join(f"{lv.level}={SCALE.text(lv.level, 'short', lang)}" for lv in SCALE.levels)
    grade_notes = [""] + [CATS.text("assessment.grade_note", lang, grade=g) for g in SCALE.grades]
    read_backs = {", ".join(f"{i}: {v} ({SCALE.text(v, 'short', lang)})"
                            for i, v in enumerate(levels, 1))
                  for levels in itertools.product(SCALE.numbers_allowed, repeat=5)}
    summaries = {", ".join(CATS.text("assessment.summary_item", lang, level=lv, count=n)
                           for lv, n in sorted(records.counts(levels).items()))
                 for levels in itertools.product(SCALE.numbers_allowed, repeat=5)}
    changes = [CATS.text("assessment.change_first", lang)]
    for up, same in itertools.product(range(6), repeat=2):
        down = 5 - up - same
        if down >= 0:
            parts = [CATS.text(k, lang, count=n) for k, n in (
                ("assessment.change_up", up), ("assessment.change_same", same),
                ("assessment.change_down", down)) if n]
            changes.append(CATS.text("assessment.change_since", lang, changes=", ".join(parts)))
    # the advice names as many suiting activities as fit, and always one: the longest of one
    advice = [CATS.text(lv.advice, lang, activities=f"{a.id} {text_in(a.title, lang)}")
              for lv in SCALE.levels for a in CONTENT.suiting(lv.level)]
    base = {"slot": 5, "top": 4, "token": "x" * 15, "count": 25, "bad": 999999, "menu": menu}
    read_back = {"read_back": read_backs, "grade_note": grade_notes}
    for key, values in [("assessment.read_back", read_back),
                        ("assessment.read_back_voice", read_back),
                        ("assessment.saved", {"summary": summaries}),
                        ("assessment.follow_up", {"change": changes}),
                        ("assessment.advice", {"advice": advice})]:
        names = list(values)
        for combo in itertools.product(*(values[n] for n in names)):
            yield key, CATS.text(key, lang, **base, **dict(zip(names, combo)))
    for key in ("assessment.not_a_level", "assessment.unknown_word", "assessment.too_few",
                "assessment.too_many", "assessment.ask_high", "assessment.ask_middle",
                "assessment.ask_low", "assessment.guided_hint", "assessment.not_a_level_guided"):
        yield key, CATS.text(key, lang, **base)


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_every_assessment_reply_fits_two_segments_at_its_longest(lang):
    too_long = [(key, text) for key, text in _worst_cases(lang) if count(text).segments > 2]
    assert too_long == []


@pytest.mark.parametrize("fields", [{"l1": 2, "l2": 3, "l3": 1, "l4": 1},
                                    {"l1": 2, "l2": 3, "l3": 1, "l4": 1, "l5": 7},
                                    {"l1": "2", "l2": 3, "l3": 1, "l4": 1, "l5": 0}])
def test_save_refuses_an_incomplete_or_invalid_set_and_stores_nothing(rt, roster, fields):
    from bot.flows.actions import Context, save_assessment

    with pytest.raises(ValueError):
        with rt.db.session() as db:
            person = _person(db, RAHIMA)
            run = FlowRun(person_id=person.id, flow="assessment", status="active",
                          session={"channel": "sms", "fields": fields}, started_at=NOW)
            db.add(run)
            db.flush()
            save_assessment(Context(db=db, person=person, run=run, now=NOW,
                                    catalogues=rt.catalogues, levels=rt.levels))
    assert _assessments(rt) == 0


def test_the_romanised_menu_has_romanised_labels(rt):
    from bot.flows.actions import Context, assessment_menu

    person = Person(phone="+8801811999998", name="k", role="teacher", language="bn-Latn",
                    channel="sms", created_at=NOW)
    menu = assessment_menu(Context(db=None, person=person, run=None, now=NOW,
                                   catalogues=rt.catalogues, levels=rt.levels))["menu"]
    assert menu == "0=ekhono na, 1=1-9, 2=10-99, 3=jog, 4=biyog"  # not English any more
