"""The console's words: message keys in the gettext catalogues (locales/), Bangla first.

Staff choose Bangla or English (a switch on every page, kept on their account); before sign-in
the choice is kept in the session. Numbers are written with Bengali digits in Bangla.
In templates `N_("console.key", name=...)` both marks a key for pybabel and says it.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from flask import g, session

from bot import runtime
from bot.i18n import localise_digits

LANGUAGES = ("bn", "en")  # the console's: Bangla first
DEFAULT = "bn"


def language() -> str:
    staff = g.get("staff")
    chosen = staff.language if staff is not None else session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT


def t(key: str, **params) -> str:
    """The key's text in the staff's language, its digits localised."""
    return runtime.current().catalogues.text(key, language(), **params)


def num(value, decimals: int = 0) -> str:
    """A number for a page: grouped, rounded to `decimals`, in the staff's digits; "–" for
    none."""
    if value is None:
        return "–"
    fmt = "#,##0" + ("." + "0" * decimals if decimals else "")
    return localise_digits(format_decimal(value, format=fmt, locale="en"), language())


def pct(part: int, whole: int) -> str:
    """part of whole as a percentage ("৮০%"), or "–" when whole is zero."""
    return num(100 * part / whole) + "%" if whole else "–"


def digits(text) -> str:
    """Any text (a week "2026-W49", a date) with the staff's digits."""
    return localise_digits(str(text), language())


def when(moment: datetime | None) -> str:
    """A stored (UTC) time as the school day's local time (TZ, Asia/Dhaka), in the staff's
    digits: "২০২৬-১২-০৩ ১৪:৩০"."""
    if moment is None:
        return "–"
    local = moment.astimezone(ZoneInfo(runtime.current().settings.tz))
    return digits(local.strftime("%Y-%m-%d %H:%M"))
