"""The school calendar: Sunday-Thursday, holidays from a file an operator keeps, the window."""
from datetime import date, datetime, timezone

import pytest

from bot.campaigns.calendar import CalendarError, load, load_holidays, parse_week, parse_window
from bot.config import ROOT

HOLIDAYS = ROOT / "flows" / "calendar" / "holidays.yaml"


def cal(window="09:00-19:00"):
    return load(str(HOLIDAYS), "Asia/Dhaka", window)


def test_school_weeks_run_sunday_to_thursday_and_are_named_by_their_iso_week():
    c = cal()
    assert [d.isoformat() for d in c.week_days("2026-W48")] == [
        "2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]
    # Sunday starts the week of the Monday after it; Friday and Saturday close the week before
    assert c.week_of(datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)) == "2026-W49"
    assert c.week_of(datetime(2026, 11, 28, 6, 0, tzinfo=timezone.utc)) == "2026-W48"
    assert c.next_week("2026-W53") == "2027-W01"


def test_the_window_is_local_time_on_school_days_only():
    c = cal()
    thursday = date(2026, 11, 26)
    start, end = c.window(thursday)
    assert (start.hour, end.hour) == (3, 13)  # 09:00 and 19:00 in Dhaka, UTC+6
    assert c.in_window(start) and not c.in_window(end)
    # Thursday 19:00 -> Sunday 09:00
    assert c.next_open(end) == c.window(date(2026, 11, 29))[0]
    # a holiday is skipped: Wednesday 16 December (Victory Day) -> Thursday 17 December
    assert c.next_open(c.window(date(2026, 12, 16))[0]) == c.window(date(2026, 12, 17))[0]


def test_a_broken_holiday_file_says_which_entry(tmp_path):
    bad = tmp_path / "holidays.yaml"
    bad.write_text("holidays:\n  - {date: 2026-12-16, name: Victory Day}\n  - {name: Eid}\n")
    with pytest.raises(CalendarError, match="holidays/1"):
        load_holidays(bad)
    bad.write_text("holidays:\n  - {date: 2026-13-01, name: x}\n")
    with pytest.raises(CalendarError, match=f"^{bad}:2: not a date: month must be in 1..12"):
        load_holidays(bad)
    bad.write_text("holidays:\n  - {date: 2026-12-16, name: x, name: y}\n")
    with pytest.raises(CalendarError, match=f"^{bad}:2: 'name' is given twice"):
        load_holidays(bad)
    bad.write_text("holidays:\n  - {from: 2026-12-31, to: 2026-12-20, name: Backwards}\n")
    with pytest.raises(CalendarError, match="Backwards"):
        load_holidays(bad)
    good = tmp_path / "ok.yaml"
    good.write_text("holidays:\n  - {from: 2026-12-30, to: 2027-01-01, name: New year}\n")
    assert sorted(load_holidays(good)) == [date(2026, 12, 30), date(2026, 12, 31),
                                           date(2027, 1, 1)]


@pytest.mark.parametrize("spec", ["9-19", "19:00-09:00", "25:00-26:00", "09:00"])
def test_a_bad_window_setting_is_refused_with_how_to_write_it(spec):
    with pytest.raises(CalendarError, match="window"):
        parse_window(spec)


def test_a_bad_week_is_refused():
    with pytest.raises(CalendarError, match="YYYY-Www"):
        parse_week("W48")
    with pytest.raises(CalendarError, match="does not exist"):
        parse_week("2026-W54")


def test_a_narrower_window_is_respected():
    c = cal("10:30-16:00")
    start, end = c.window(date(2026, 11, 26))
    assert (start.hour, start.minute, end.hour) == (4, 30, 10)


def test_an_alias_bomb_of_a_holiday_file_is_refused_before_it_is_written_out(tmp_path):
    # 400 bytes naming a million holidays: its check wrote them all out (5 s, 700 MB; a level
    # more, ten times that)
    bomb = tmp_path / "holidays.yaml"
    bomb.write_text("a0: &a0 {date: 2026-12-16, name: x}\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7))
        + "holidays: [*a6]\n")
    with pytest.raises(CalendarError, match=f"^{bomb}:6: too large once its aliases"):
        load_holidays(bomb)
