"""Content as data: flows/content/*.yaml loads, keeps teaching order, and refuses bad files."""
import pytest

from bot.campaigns.content import ContentError, activity_fields, load_content
from bot.config import ROOT

CONTENT = ROOT / "flows" / "content"
MODULES = {1: ("গণনা", "Counting"), 2: ("সংখ্যা চেনা", "Number recognition"),
           3: ("স্থানীয় মান", "Place value"), 4: ("যোগ", "Addition"), 5: ("বিয়োগ", "Subtraction"),
           6: ("আকার", "Shapes"), 7: ("পরিমাপ", "Measurement"), 8: ("প্যাটার্ন", "Patterns"),
           9: ("সংখ্যার খেলা", "Numeracy games")}


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


def test_activities_come_in_teaching_order(content):
    ids = [a.id for a in content.activities]
    assert ids[:3] == ["1.1", "1.2", "1.3"]
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split(".")))
    assert content.activity("1.2").module == 1
    with pytest.raises(KeyError):
        content.activity("99.1")


def test_the_modules_have_their_fixed_titles(content):
    assert 1 in content.modules
    for mid, module in content.modules.items():
        assert (module.title["bn"], module.title["en"]) == MODULES[mid]
        assert len(module.activities) >= 3


def test_activity_fields_are_exactly_the_message_params(content):
    a = content.activity("1.1")
    fields = activity_fields(a, "bn-Latn")
    assert set(fields) == {"module", "title", "description", "materials", "try_it"}
    assert fields["module"] == 1 and fields["title"] == a.title["bn-Latn"]
    assert activity_fields(a, "en")["try_it"] == a.try_it["en"]


def write(tmp_path, text, name="modules.yaml"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


GOOD = """modules:
  - id: 1
    title: {bn: গণনা, en: Counting, bn-Latn: Gonona}
    activities:
      - id: "1.1"
        grades: [1]
        levels: [0]
        title: {bn: ক, en: A, bn-Latn: K}
        description: {bn: ক, en: A, bn-Latn: K}
        materials: {bn: ক, en: A, bn-Latn: K}
        try_it: {bn: ক, en: A, bn-Latn: K}
"""


def test_a_missing_translation_falls_back_to_bangla(tmp_path):
    content = load_content(write(tmp_path, GOOD.replace(", en: A, bn-Latn: K}", "}", 1)))
    assert activity_fields(content.activity("1.1"), "bn-Latn")["title"] == "ক"


@pytest.mark.parametrize("bad, line, reason", [
    (GOOD.replace("try_it: {bn: ক, en: A, bn-Latn: K}", "try_it: {en: A}"), 11,
     "'bn' is a required property"),
    (GOOD.replace('id: "1.1"', 'id: "2.1"'), 5, "activity 2.1 is in module 1"),
    (GOOD.replace('id: "1.1"', 'id: 1.1'), 5, "is not of type 'string'"),
    (GOOD.replace("materials:", "material:"), 5, "'materials' is a required property"),
    (GOOD.replace("title: {bn: ক", "title: {bn: ক, fr: B"), 8, "Additional properties"),
    (GOOD.replace("levels: [0]", "levels: []"), 7, "should be non-empty"),
    (GOOD.replace("grades: [1]", "grades: [1, 1]"), 6, "non-unique elements"),
    (GOOD.replace("levels: [0]", "levels: [0]\n        video: 0"), 8, "less than the minimum"),
    (GOOD + "  - id: 1\n    title: {bn: ক}\n    activities: []\n", 14, "should be non-empty"),
    (GOOD.replace("    activities:", "   activities:"), None, "not valid YAML"),
    # a control character pasted from elsewhere: refused with its line, not a crash
    (GOOD.replace("title: {bn: ক", "title: {bn: ক\x07"), 8,
     "not valid YAML: a character it does not allow (U+0007)"),
])
def test_a_bad_file_is_refused_with_file_line_reason(tmp_path, bad, line, reason):
    with pytest.raises(ContentError) as e:
        load_content(write(tmp_path, bad))
    path = tmp_path / "modules.yaml"
    assert str(e.value).startswith(f"{path}:{line}:" if line else f"{path}")
    assert reason in str(e.value)


def test_a_file_edited_back_and_forth_in_one_process_is_judged_each_time(tmp_path):
    """A process remembers the files it has checked (bot/schemas.py): an edit that only
    changes a value's type ("1.1", a string, to 1.1, a number) must not get the old verdict."""
    number_id = GOOD.replace('id: "1.1"', 'id: 1.1')
    for text, good in [(GOOD, True), (number_id, False), (GOOD, True), (number_id, False)]:
        write(tmp_path, text)
        if good:
            assert load_content(tmp_path).activity("1.1") is not None
        else:
            with pytest.raises(ContentError, match="modules.yaml:5: .*is not of type 'string'"):
                load_content(tmp_path)


def test_ids_are_unique_across_files(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD, "more.yaml")
    with pytest.raises(ContentError,
                       match=r"more.yaml:2: module 1 is defined twice \(also .*modules.yaml:2\)"):
        load_content(tmp_path)


def test_tips_by_theme(content):
    themes = {"staff_meeting", "learning_walk", "five_learners", "foundation_lessons"}
    for theme in themes:
        assert len(content.tips(theme)) >= 3, theme
    assert {t.theme for t in content.tips()} == themes


def test_the_runtime_loads_the_content_once_beside_the_flows(rt):
    assert rt.content.activity("3.1").title["bn-Latn"] == "Kathi diye doshok"
    assert len(rt.content.activities) == 32


def test_the_shipped_modules_say_they_are_a_draft(content):
    """No public source names the AGS modules' activities: the shipped list is our own."""
    assert "draft" in content.draft and "official AGS" in content.draft
    header = (CONTENT / "modules.yaml").read_text("utf-8").split("modules:")[0]
    assert "A DRAFT of our own, not the official AGS module list" in header


def test_every_activity_names_the_levels_and_grades_it_suits(content):
    assert all(a.levels and a.grades for a in content.activities)
    # the three the issue found wrong: level 2 no longer only single-digit sums, level 3 has
    # subtraction with borrowing, level 4 has more than games below its level
    assert {a.id for a in content.suiting(2)} >= {"3.2", "4.4", "9.2"}
    assert "5.4" in {a.id for a in content.suiting(3)}
    assert {a.id for a in content.suiting(4)} >= {"3.4", "9.4", "9.5"}
    assert not {"4.1", "4.2", "4.3"} & {a.id for a in content.suiting(2)}
    assert not {"5.1", "5.2", "5.3"} & {a.id for a in content.suiting(3)}


def test_by_need_picks_the_first_not_given_that_suits_level_then_grade(content):
    ids = lambda acts: [a.id for a in acts]  # noqa: E731
    assert ids(content.by_need(2, 2, set()))[:3] == ["3.1", "3.2", "3.3"]
    assert ids(content.by_need(2, 2, {"3.1", "3.2", "3.3"}))[0] == "4.4"
    # grade 1 and grade 2 teachers differ: 4.4 is for grade 2 only
    assert "4.4" not in ids(content.by_need(2, 1, {"3.1", "3.2", "3.3"}))[:3]
    # every activity of the level given: the level whatever the grade, then the sequence
    suits_2 = {a.id for a in content.suiting(2)}
    assert ids(content.by_need(2, 2, suits_2))[0] == "1.1"
    # everything given: start again with those that suit
    assert ids(content.by_need(3, None, {a.id for a in content.activities}))[0] == "4.4"
