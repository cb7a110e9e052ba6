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
    HEAD_QUESTIONS,
    HEAD_TRIED,
    HEAD_TRIED_NONE,
    LEARNING,
    LEARNING_LAST,
    LIST_HEAD,
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
        pieces.append(w.t(BEHIND, upazilas=", ".join(  # none asked: none tried
            f"{u} {w.share(t, a) if a else w.share(0, 1)}" for u, t, a in fig.behind)))
    pieces += learning(w, fig.assessments, fig.levels, fig.last_assessments, fig.last_levels)
    listed = list_pieces(w, role, fig.visit, schools)
    if listed:  # the list's header goes with its first school, never alone at a page's end
        pieces += [list_head(w, role, fig.visit) + w.sep + listed[0]] + listed[1:]
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
    """One piece per school, 'EMIS short name'; none when no school needs a visit."""
    comma = "," if w.channel == "sms" else ""  # on WhatsApp each school has a line of its own
    return [f"{emis} {short_name(name)}" + (comma if i < len(schools) - 1 else "")
            for i, (emis, name) in enumerate(schools)]


def list_head(w: Writer, role: str, total: int, text: str = "") -> str:
    """'Schools to visit (12): {text}' (or to call, for an ambassador); on WhatsApp the
    schools start on the next line."""
    if not text:
        return w.t(LIST_HEAD[_role(role)], count=total, text="").rstrip()
    return list_head(w, role, total) + w.sep + text


def school_text(w: Writer, name: str, week: SchoolWeek, assessments: int, levels: Counter
                ) -> str:
    """One school for an officer: teachers active, tried, the meeting, this month's levels."""
    text = w.t(SCHOOL_DETAIL, school=short_name(name), active=week.active, teachers=week.teachers,
               tried=len(week.tried), asked=week.asked,
               meeting=w.t(MEETING[week.meeting]))
    if assessments:
        text += " " + w.t(LEARNING, count=assessments, range=w.level_range(),
                          shares=w.level_shares(levels))
    return text


def head_pieces(w: Writer, week: SchoolWeek, questions: list[str], levels: Counter,
                assessments: int, fits) -> list[str]:
    """Which teachers tried the week's activity, the obstacle named most, their questions,
    this month's levels: the order the issue gives, and a headteacher acts on."""
    pieces = []
    if week.tried:
        def tried(names_text):
            return w.t(HEAD_TRIED, count=len(week.tried), asked=week.asked, names=names_text)
        pieces.append(tried(names(w, list(week.tried), lambda t: fits(tried(t)))))
    elif week.asked:
        pieces.append(w.t(HEAD_TRIED_NONE, asked=week.asked))
    if week.top_obstacle:
        pieces.append(w.t(HEAD_OBSTACLE, obstacle=w.obstacle(week.top_obstacle)))
    if questions:  # the header goes with the first question
        pieces += [w.t(HEAD_QUESTIONS, questions=questions[0])] + questions[1:]
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
