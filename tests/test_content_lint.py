"""`sathi content lint` and `sathi sms count`: the SMS budget, checked before anything is sent."""
import json
import shutil

import pytest
from click.testing import CliRunner

from bot.campaigns.content import budget, lint, load_content
from bot.cli import main
from bot.config import ROOT
from bot.i18n import Catalogues

CONTENT = ROOT / "flows" / "content"
LOCALES = ROOT / "locales"


@pytest.fixture()
def copy(tmp_path):
    """A copy of the real content that a test may spoil."""
    shutil.copytree(CONTENT, tmp_path / "content")
    return tmp_path / "content"


def spoil(directory, old, new, name="modules.yaml"):
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    line = text[:text.index(old)].count("\n") + 1
    return path, line


def test_the_real_content_passes_and_its_week_fits_six_segments():
    content, cats = load_content(CONTENT), Catalogues(LOCALES)
    assert lint(content, cats) == []
    figures, _ = budget(content, cats)
    assert max(s for s, _ in figures.week.values()) <= 6
    assert all(s <= 2 for s, _, _ in figures.longest.values())
    # romanised Bangla is the cheap choice: every weekly message in one GSM-7 segment
    assert all(s == 1 for (_, lang), (s, _, _) in figures.longest.items() if lang == "bn-Latn")


def test_a_too_long_activity_text_is_reported_at_its_line(copy):
    old = "bn: \"শিশুরা আঙুলে বাতাসে, পরে বালিতে সংখ্যা লেখে; পাশের জন পড়ে বলে।\""
    path, _ = spoil(copy, old, old[:-1] + " তারপর সবাই মিলে আবার একবার জোরে জোরে পড়ে।\"")
    problems = lint(load_content(copy), Catalogues(LOCALES))
    line = path.read_text(encoding="utf-8").splitlines().index('      - id: "2.2"') + 1
    for key in ("weekly.nudge", "weekly.nudge_after_skip", "weekly.nudge_encourage"):
        assert any(p.startswith(f"{path}:{line}: {key} with activity 2.2 in bn needs 3 SMS "
                                f"segments (UCS-2,") for p in problems), problems
    assert problems[3] == f"{path}:{line}: the week of activity 2.2 in bn needs 7 SMS segments; " \
                          "at most 6"
    assert len(problems) == 4  # English and romanised Bangla still fit


def test_a_missing_translation_is_reported(copy):
    path, line = spoil(copy, 'en: "Hidden stones", ', '')
    assert lint(load_content(copy), Catalogues(LOCALES)) == [
        f"{path}:{line}: activity 5.2 title has no en text"]


def test_a_missing_romanised_tip_is_reported(copy):
    old = ('      bn-Latn: "Rutine duto din bendhe din, jemon Robibar ar Budhbar, jate onno kajer '
           'chape pathgulo bad na pore."\n')
    path, _ = spoil(copy, old, "", "leadership.yaml")
    line = path.read_text(encoding="utf-8").splitlines().index("  - id: foundation_lessons.2") + 1
    assert lint(load_content(copy), Catalogues(LOCALES)) == [
        f"{path}:{line}: tip foundation_lessons.2 has no bn-Latn text"]


def test_romanised_text_outside_gsm7_and_ascii_digits_in_bangla_are_reported(copy):
    path, line = spoil(copy, 'bn-Latn: "Boro shongkha jete"}', 'bn-Latn: "Boro shongkha jete’"}')
    path, line2 = spoil(copy, 'bn: "আজ ৫, ১০, ১৫, __ দিয়েও', 'bn: "আজ 5, 10, 15, __ দিয়েও')
    problems = lint(load_content(copy), Catalogues(LOCALES))
    assert f"{path}:{line}: activity 9.1 title (bn-Latn) is not GSM-7, so each SMS holds 70 " \
           f"characters, not 160: '’'" in problems
    assert f"{path}:{line2}: activity 8.3 try_it (bn) has ASCII digits: use ০-৯ in Bangla" \
        in problems


@pytest.mark.parametrize("key", ["weekly.reflect_share", "weekly.nudge"])
def test_a_weekly_key_missing_from_a_catalogue_is_reported(tmp_path, key):
    shutil.copytree(LOCALES, tmp_path / "locales")
    po = tmp_path / "locales" / "en" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    start = text.index(f'msgid "{key}"')
    po.write_text(text[:start] + f'msgid "{key}"\nmsgstr ""' +
                  text[text.index("\n\n", start):], encoding="utf-8")
    assert lint(load_content(CONTENT), Catalogues(tmp_path / "locales")) == [
        f"{po}: {key} has no en text"]


def test_a_week_over_its_budget_is_reported():
    problems = lint(load_content(CONTENT), Catalogues(LOCALES), max_week=5)
    assert problems and all(" in bn needs 6 SMS segments; at most 5" in p for p in problems)
    assert all(p.startswith(f"{CONTENT / 'modules.yaml'}:") for p in problems)


def test_lint_command_says_ok_or_lists_problems_and_fails(copy):
    out = CliRunner().invoke(main, ["content", "lint"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("OK: 9 modules, 32 activities, 14 tips;")
    ok, draft = out.output.splitlines()
    assert draft.startswith("DRAFT: modules.yaml: our own draft activities")
    spoil(copy, 'title: {bn: "লুকানো পাথর", en: "Hidden stones", bn-Latn: "Lukano pathor"}',
          'title: {bn: "লুকানো পাথর", bn-Latn: "Lukano pathor"}')
    out = CliRunner().invoke(main, ["content", "lint", "--dir", str(copy)])
    assert out.exit_code == 1
    assert "activity 5.2 title has no en text" in out.output


def test_lint_command_refuses_a_file_that_breaks_the_schema(copy):
    path, line = spoil(copy, '      - id: "5.2"', '      - id: "5.2"\n        colour: red')
    out = CliRunner().invoke(main, ["content", "lint", "--dir", str(copy)])
    assert out.exit_code == 1
    assert out.output.startswith(f"{path}:{line}: modules/4/activities/1: Additional properties")


def test_lint_command_prints_the_figures():
    out = CliRunner().invoke(main, ["content", "lint", "--figures"])
    figures = json.loads(out.output.split("\n", 2)[2])
    assert figures["messages"]["weekly.nudge bn"]["segments"] == 2
    assert set(figures["week"]) == {"bn", "en", "bn-Latn"}


@pytest.mark.parametrize("text, expected", [
    ("Kathi diye doshok banano", {"encoding": "GSM-7", "segments": 1, "units": 24}),
    ("€" * 81, {"encoding": "GSM-7", "segments": 2, "units": 162}),
    ("কাঠি দিয়ে দশক", {"encoding": "UCS-2", "segments": 1, "units": 14}),
    ("ক" * 66 + "ক্ষ" + "ক" * 65, {"encoding": "UCS-2", "segments": 3, "units": 134}),
    ("😀", {"encoding": "UCS-2", "segments": 1, "units": 2}),
])
def test_sms_count_prints_json(text, expected):
    out = CliRunner().invoke(main, ["sms", "count", text])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == expected
