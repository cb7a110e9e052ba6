"""`sathi content import FILE.csv`: the spreadsheet the programme team fills in round-trips the
shipped content, goes through the same lint, reports FILE:LINE: reason, and changes nothing
when any row is bad. And the lint's rules on levels and grades."""
import csv
import io
import shutil

import pytest
from click.testing import CliRunner

from bot.assessment.levels import scale
from bot.campaigns.content import lint, load_content
from bot.campaigns.spreadsheet import COLUMNS, export, read
from bot.cli import main
from bot.config import ROOT
from bot.i18n import Catalogues, bengali_digits

CONTENT = ROOT / "flows" / "content"
SCALE = scale(str(ROOT / "flows"))
CATS = Catalogues(ROOT / "locales")


@pytest.fixture()
def content_dir(tmp_path):
    shutil.copytree(CONTENT, tmp_path / "content")
    return tmp_path / "content"


def shipped_csv(tmp_path) -> str:
    out = io.StringIO()
    export(list(load_content(CONTENT).modules.values()), out)
    (tmp_path / "sheet.csv").write_text(out.getvalue(), "utf-8")
    return out.getvalue()


def invoke(*args):
    return CliRunner().invoke(main, ["content", *map(str, args)])


def test_the_shipped_content_round_trips_through_the_spreadsheet(tmp_path, content_dir):
    out = invoke("export", tmp_path / "sheet.csv")
    assert out.exit_code == 0, out.output
    assert "137 rows: 9 modules, 32 activities" in out.output
    out = invoke("import", tmp_path / "sheet.csv", "--dir", content_dir)
    assert out.exit_code == 0, out.output
    assert "imported 9 modules, 32 activities" in out.output
    before, after = load_content(CONTENT), load_content(content_dir)
    assert list(after.modules.values()) == list(before.modules.values())
    assert after.activities == before.activities
    assert [(x.id, x.text) for x in after.tips()] == [(x.id, x.text) for x in before.tips()]
    assert after.draft is None  # the official list is imported without --draft
    again = invoke("export", tmp_path / "again.csv", "--dir", content_dir)
    assert again.exit_code == 0
    assert (tmp_path / "again.csv").read_text("utf-8") == \
        (tmp_path / "sheet.csv").read_text("utf-8")
    assert lint(after, CATS, SCALE) == []


def test_import_can_keep_the_draft_mark(tmp_path, content_dir):
    shipped_csv(tmp_path)
    out = invoke("import", tmp_path / "sheet.csv", "--dir", content_dir, "--draft", "a try")
    assert out.exit_code == 0 and "(draft)" in out.output
    assert load_content(content_dir).draft == "modules.yaml: a try"


def spoiled(tmp_path, old, new, count=1):
    text = shipped_csv(tmp_path)
    assert text.count(old) >= count, old
    text = text.replace(old, new, count)
    (tmp_path / "sheet.csv").write_text(text, "utf-8")
    line = text.splitlines().index(next(l for l in text.splitlines() if new and new in l)) + 1 \
        if new else None
    return tmp_path / "sheet.csv", line


@pytest.mark.parametrize("old, new, reason", [
    ("2.2,,,,,try_it,", "2.2,,,,,tryit,", "field 'tryit' is not one of"),
    ("4.1,4,1 2,1,,title,", "4.1,4,1 2,1-x,,title,", "levels '1-x' is not a list of numbers"),
    ("4.1,4,1 2,1,,title,", "4.1,5,1 2,1,,title,", "activity 4.1 is in module 4: its id says so"),
    ("4.1,4,1 2,1,,title,", "4.1,4,,,,title,", "activity 4.1 has no grade"),
    ("4.1,4,1 2,1,,title,", "4.1,4,1 2,7,,title,", "activity 4.1 suits level 7"),
    ("4.1,4,1 2,1,,title,", "4.1,4,3,1,,title,", "activity 4.1 suits grade 3"),
    ("4.1,4,1 2,1,,title,", "4.x,4,1 2,1,,title,", "id '4.x' is neither a module"),
    ("9,9,,,,title,", "9,9,,0,,title,", "module 9: grade, levels and video belong"),
    ("3.4,3,2,4,,title,", "3.4,3,2,4,0,title,", "video: 0 is less than the minimum of 1"),
    ("Dokan dokan khela", "Dokan dokan khelা", "activity 4.1 title (bn-Latn) is not GSM-7"),
    ("আজ দলে দলে ১০ মিনিট খেলতে দিন।",
     "আজ দলে দলে 10 মিনিট খেলতে দিন, তারপর সবাই মিলে আরও একবার জোরে জোরে গুনে দেখুক কত হলো, কে জিতল।",
     "activity 4.3 try_it (bn) has ASCII digits"),
])
def test_a_bad_row_is_reported_at_its_line_and_nothing_changes(tmp_path, content_dir, old, new,
                                                              reason):
    before = (content_dir / "modules.yaml").read_bytes()
    path, line = spoiled(tmp_path, old, new)
    out = invoke("import", path, "--dir", content_dir)
    assert out.exit_code == 1
    assert f"{path}:{line}: " in out.output and reason in out.output, out.output
    assert "nothing imported" in out.output
    assert (content_dir / "modules.yaml").read_bytes() == before


def test_a_text_too_long_for_its_sms_is_reported_at_its_own_row(tmp_path, content_dir):
    old = "কাগজে ১-১০ লিখে কার্ড বানান; কার্ড দেখালে শিশুরা ততগুলো কাঠি তোলে।"
    path, line = spoiled(tmp_path, old, old + " তারপর সবাই মিলে আবার একবার জোরে জোরে পড়ে।")
    out = invoke("import", path, "--dir", content_dir)
    assert out.exit_code == 1
    # the budget is the activity's (its title row); the text is on its description row
    assert f"{path}:{line - 1}: weekly.nudge with activity 2.1 in bn needs 3 SMS segments" \
        in out.output


def test_missing_rows_columns_and_duplicates_are_reported(tmp_path, content_dir):
    text = shipped_csv(tmp_path)
    lines = text.splitlines()
    materials = next(i for i, l in enumerate(lines) if l.startswith("5.2,,,,,materials,"))
    dup = next(i for i, l in enumerate(lines) if l.startswith("6.1,,,,,try_it,"))
    title_6 = next(i for i, l in enumerate(lines) if l.startswith("6,6,,,,title,"))
    twice = lines[:dup + 1] + [lines[dup]] + lines[dup + 1:]  # 6.1's try_it twice
    (tmp_path / "sheet.csv").write_text("\n".join(twice) + "\n", "utf-8")
    out = invoke("import", tmp_path / "sheet.csv", "--dir", content_dir)
    assert out.exit_code == 1
    assert f"sheet.csv:{dup + 2}: 6.1 try_it is also on line {dup + 1}" in out.output
    without_6 = [l for i, l in enumerate(lines) if i != title_6]
    (tmp_path / "sheet.csv").write_text("\n".join(without_6) + "\n", "utf-8")
    out = invoke("import", tmp_path / "sheet.csv", "--dir", content_dir)
    assert "activity 6.1 is in module 6, which has no title row" in out.output
    no_materials = [l for i, l in enumerate(lines) if i != materials]
    (tmp_path / "sheet.csv").write_text("\n".join(no_materials) + "\n", "utf-8")
    out = invoke("import", tmp_path / "sheet.csv", "--dir", content_dir)
    line_52 = next(i for i, l in enumerate(no_materials) if l.startswith("5.2,5,")) + 1
    assert f"sheet.csv:{line_52}: activity 5.2 has no materials row" in out.output
    (tmp_path / "sheet.csv").write_text("id,field,bn\n1,title,ক\n", "utf-8")
    out = invoke("import", tmp_path / "sheet.csv", "--dir", content_dir)
    assert "sheet.csv:1: missing columns: module, grade, levels, video, en, bn-Latn" in out.output


def test_a_sheet_that_leaves_a_level_without_three_activities_is_refused(tmp_path, content_dir):
    path, _ = spoiled(tmp_path, "3.4,3,2,4,,title,", "3.4,3,2,3,,title,")
    text = path.read_text("utf-8").replace("9.5,9,2,4,,title,", "9.5,9,2,3,,title,")
    path.write_text(text, "utf-8")
    out = invoke("import", path, "--dir", content_dir)
    assert out.exit_code == 1
    assert "level 4 is suited by 2 activities (8.3, 9.4); at least 3" in out.output


def test_a_real_programme_sheet_with_a_video_loads_and_is_used(tmp_path, content_dir):
    rows = [COLUMNS,
            ("1", "1", "", "", "", "title", "গণনা", "Counting", "Gonona")]
    for n, levels in ((1, "0"), (2, "0 - 1"), (3, "১, ২"), (4, "1 2 3"), (5, "2 3 4"),
                      (6, "3;4"), (7, "0-4")):
        rows += [(f"1.{n}", "", "১ ২", levels, "1" if n == 1 else "", "title",
                  f"কাজ {bengali_digits(str(n))}", f"Task {n}", f"Kaj {n}")]
        rows += [(f"1.{n}", "", "", "", "", f, "লিখুন।", "Write.", "Likhun.")
                 for f in ("description", "materials", "try_it")]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    (tmp_path / "official.csv").write_text(out.getvalue(), "utf-8")
    sheet = read(tmp_path / "official.csv")
    assert sheet.problems == []
    result = invoke("import", tmp_path / "official.csv", "--dir", content_dir)
    assert result.exit_code == 0, result.output
    content = load_content(content_dir)
    assert [a.id for a in content.activities] == [f"1.{n}" for n in range(1, 8)]
    assert content.activity("1.1").video == 1 and content.activity("1.2").levels == (0, 1)
    assert content.activity("1.3").levels == (1, 2) and content.activity("1.1").grades == (1, 2)
    assert content.activity("1.7").levels == (0, 1, 2, 3, 4)
    assert lint(content, CATS, SCALE) == []


# --- the lint's rules on levels and grades -----------------------------------------------------

def test_the_real_content_suits_every_level_with_at_least_three():
    content = load_content(CONTENT)
    assert lint(content, CATS, SCALE) == []
    for level in SCALE.numbers_allowed:
        assert len(content.suiting(level)) >= 3, level


def test_unknown_levels_and_grades_are_reported_at_the_activity(tmp_path, content_dir):
    path = content_dir / "modules.yaml"
    text = path.read_text("utf-8")
    old = '      - id: "2.2"\n        grades: [1]\n        levels: [0]'
    assert old in text
    path.write_text(text.replace(old, '      - id: "2.2"\n        grades: [3]\n        levels: [8]'),
                    "utf-8")
    line = path.read_text("utf-8").splitlines().index('      - id: "2.2"') + 1
    problems = lint(load_content(content_dir), CATS, SCALE)
    assert problems == [
        f"{path}:{line}: activity 2.2 suits level 8, which flows/assessment/levels.yaml does not "
        f"have",
        f"{path}:{line}: activity 2.2 suits grade 3; the grades are 1, 2"]


@pytest.mark.parametrize("data, reason", [
    (b"\xff\xfe" + "id".encode("utf-16-le"), "cannot be read as UTF-8 text"),
    (b"", "missing columns: id, module"),
    (("id,module,grade,levels,video,field,bn,en,bn-Latn\n1,1,,,,title," + "x" * 200_000
      + ",c,d\n").encode(), "not a readable CSV row: field larger than field limit"),
])
def test_a_file_that_is_no_spreadsheet_is_refused_politely(tmp_path, content_dir, data, reason):
    before = (content_dir / "modules.yaml").read_bytes()
    (tmp_path / "bad.csv").write_bytes(data)
    out = invoke("import", tmp_path / "bad.csv", "--dir", content_dir)
    assert out.exit_code == 1 and reason in out.output and "Traceback" not in out.output
    assert (content_dir / "modules.yaml").read_bytes() == before
