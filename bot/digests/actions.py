"""What officers' replies do (flows/officer.yaml routes them; the runtime adds these actions to
the flows' own: bot/runtime.py ACTIONS). Each takes the turn's Context (bot/flows/actions.py)
and returns the fields the next message says, like any flow action.

    next_page      "আরো" / "more": the next page of what was shown last
    visit_list     "সব স্কুল" / "all": the area's schools that need a visit (or a call)
    school_detail  an EMIS code: that school's week, if it is in the officer's area
    decide         1 / 2 to a recognition: the officer's yes (congratulate) or skip
"""
from __future__ import annotations

import re
from typing import Callable

from ..i18n import N_, ascii_digits
from . import digest, recognition
from .figures import reflection_campaigns

DECIDED = {"confirmed": N_("recognition.will_send"), "skipped": N_("recognition.skipped"),
           "decided": N_("recognition.already"), "refused": N_("recognition.already")}
_DIGITS = re.compile(r"\d+")


def _tools(ctx) -> digest.Tools:
    campaigns = ctx.campaigns
    return digest.Tools(catalogues=ctx.catalogues, calendar=ctx.calendar, levels=ctx.levels,
                        reflections=reflection_campaigns(campaigns) if campaigns else None)


def _fields(ctx) -> dict:
    return ctx.run.session["fields"] if ctx.run is not None else {}


def _channel(ctx) -> str:
    channel = ctx.run.session.get("channel") if ctx.run is not None else None
    return channel if channel in ("sms", "whatsapp") else "sms"


def _week(ctx) -> str:
    return _fields(ctx).get("digest_week") or ctx.calendar.week_of(ctx.now)


def next_page(ctx) -> dict:
    """The next stored page, numbered; `more` is cleared after the last."""
    fields = _fields(ctx)
    parts, part = fields.get("parts") or [], int(fields.get("part") or 0)
    if part >= len(parts):
        return {"more": "", "text": "", "page": len(parts), "pages": len(parts)}
    return {"text": parts[part], "page": part + 1, "pages": len(parts), "part": part + 1,
            "more": "yes" if part + 1 < len(parts) else ""}


def visit_list(ctx) -> dict:
    """{count, text}: the first page of the visit list; the rest follow on "আরো"."""
    try:
        return digest.visit_pages(ctx.db, _tools(ctx), ctx.person, _week(ctx), ctx.now,
                                  _channel(ctx))
    except digest.NoArea:
        return {"count": 0, "text": "", "parts": [], "part": 0, "more": ""}


def school_detail(ctx) -> dict:
    """{emis, text}: the school the officer named, if it is theirs to see."""
    code = max(_DIGITS.findall(ascii_digits(str(_fields(ctx).get("emis", "")))), key=len,
               default="")
    text = digest.school(ctx.db, _tools(ctx), ctx.person, code, _week(ctx), ctx.now,
                         _channel(ctx))
    return {"emis": code, "text": text}


def decide(ctx, kind: str, confirm: bool) -> dict:
    """{outcome}: what became of the nomination the officer answered."""
    rec_id = int(_fields(ctx).get(f"{'teacher' if kind == 'teacher' else 'head'}_recognition")
                 or 0)
    outcome = recognition.decide(ctx.db, rec_id, ctx.person, bool(confirm), ctx.now)
    name = _fields(ctx).get("teacher_nominee" if kind == "teacher" else "head_nominee", "")
    return {"outcome": ctx.catalogues.text(DECIDED[outcome], ctx.person.language,
                                           nominee=name)}


ACTIONS: dict[str, Callable[..., dict | None]] = {
    "next_page": next_page,
    "visit_list": visit_list,
    "school_detail": school_detail,
    "decide": decide,
}
