"""What each digest says, piece by piece (text.py packs the pieces into pages).

    area_pieces    an upazila's week or a district's month, for an officer or an ambassador
    list_pieces    the schools that need a visit (officers) or a call (ambassadors)
    school_text    one school's week, for an officer who sent its EMIS code
    head_pieces    a headteacher's school: who tried, the obstacle, this month's levels
"""
from __future__ import annotations

from collections import Counter

from .area import Figures
from .figures import SchoolWeek
from .text import (
    BEHIND,
    CHANGE,
    HEAD_LEVELS,
    HEAD_OBSTACLE,
    HEAD_QUESTION,
    HEAD_TRIED,
    HEAD_TRIED_NONE,
    LEARNING,
    LEARNING_LAST,
    LIST_HEAD,
    LIST_NONE,
    MEETING,
    MEETINGS,
    OBSTACLE,
    PRACTICE,
    REACH,
    SCHOOL_DETAIL,
    VISIT,
    Writer,
    names,
    short_name,
)

LIST_ROLE = {"ambassador": "ambassador"}  # who is told 'call' rather than 'visit' (else officer)
QUESTION_UNITS = 120  # a teacher's question is quoted up to about this many characters


def _role(role: str) -> str:
    return LIST_ROLE.get(role, "officer")


def area_pieces(w: Writer, fig: Figures, role: str, schools: list[tuple[str, str]]) -> list[str]:
    """In the order an officer acts on them: reach, practice, meetings, the schools to visit
    (or call), the obstacle, who joined or stopped, the upazilas most behind (a district),
    learning, then the schools by EMIS code and short name. What is not recorded is left out."""
    pieces = [w.t(REACH, active=fig.active, teachers=fig.teachers)]
    if fig.asked:
        pieces.append(w.t(PRACTICE, tried=w.share(fig.tried, fig.asked),
                          answered=w.share(fig.answered, fig.asked)))
    pieces.append(w.t(MEETINGS, meetings=fig.meetings, schools=fig.schools))
    pieces.append(w.t(VISIT[_role(role)], count=fig.visit))
    if fig.top_obstacle:
        pieces.append(w.t(OBSTACLE, obstacle=w.obstacle(fig.top_obstacle)))
    if fig.joined or fig.opted_out:
        pieces.append(w.t(CHANGE, joined=fig.joined, opted_out=fig.opted_out))
    if fig.behind:
        pieces.append(w.t(BEHIND, upazilas=", ".join(
            f"{u} {w.share(t, a)}" for u, t, a in fig.behind)))
    pieces += learning(w, fig.assessments, fig.levels, fig.last_assessments, fig.last_levels)
    if fig.visit:
        pieces += list_pieces(w, role, fig.visit, schools)
    return pieces


def learning(w: Writer, n: int, levels: Counter, last_n: int, last: Counter) -> list[str]:
    """This month's assessments and the share of learners at each level; last month's shares
    beside them, so the change shows. Nothing when neither month has any."""
    out = []
    if n:
        out.append(w.t(LEARNING, count=n, range=w.level_range(), shares=w.level_shares(levels)))
    if last_n:
        out.append(w.t(LEARNING_LAST, count=last_n, shares=w.level_shares(last)))
    return out


def list_pieces(w: Writer, role: str, total: int, schools: list[tuple[str, str]]) -> list[str]:
    """'Need a visit (12):' then one piece per school, 'EMIS short name'."""
    if not total:
        return [w.t(LIST_NONE)]
    comma = "," if w.channel == "sms" else ""  # on WhatsApp each school has a line of its own
    return [w.t(LIST_HEAD[_role(role)], count=total)] + [
        f"{emis} {short_name(name)}" + (comma if i < len(schools) - 1 else "")
        for i, (emis, name) in enumerate(schools)]


def school_text(w: Writer, emis: str, name: str, week: SchoolWeek, levels: Counter) -> str:
    """One school for an officer: teachers active, tried, the meeting, this month's levels."""
    text = w.t(SCHOOL_DETAIL, school=short_name(name), active=week.active, teachers=week.teachers,
               tried=len(week.tried), asked=week.asked,
               meeting=w.t(MEETING[week.meeting]))
    if sum(levels.values()):
        text += " " + w.t(LEARNING, count=sum(levels.values()), range=w.level_range(),
                          shares=w.level_shares(levels))
    return text


def head_pieces(w: Writer, week: SchoolWeek, levels: Counter, assessments: int,
                fits) -> list[str]:
    """Which teachers tried the week's activity, the obstacle named most, this month's levels."""
    pieces = []
    if week.tried:
        pieces.append(w.t(HEAD_TRIED, count=len(week.tried), asked=week.asked,
                          names=names(w, list(week.tried), lambda t: fits(
                              w.t(HEAD_TRIED, count=len(week.tried), asked=week.asked,
                                  names=t)))))
    elif week.asked:
        pieces.append(w.t(HEAD_TRIED_NONE, asked=week.asked))
    if week.top_obstacle:
        pieces.append(w.t(HEAD_OBSTACLE, obstacle=w.obstacle(week.top_obstacle)))
    if assessments:
        pieces.append(w.t(HEAD_LEVELS, count=assessments, range=w.level_range(),
                          levels=w.level_counts(levels)))
    return pieces


def question_pieces(w: Writer, questions: list[tuple[str, str]]) -> list[str]:
    """One piece per question: 'name: "text"', a long question cut."""
    out = []
    for name, text in questions:
        text = " ".join(text.split())
        if len(text) > QUESTION_UNITS:
            text = text[:QUESTION_UNITS - 1].rstrip() + "…"
        out.append(w.t(HEAD_QUESTION, teacher=name, text=text))
    return out
