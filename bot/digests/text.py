"""A digest's text: short pieces from the catalogues, packed into pages that fit the channel.

Each piece (reach, practice, meetings, obstacle, visits, learning, a school of a list, a
question) is one catalogue key, so every word is translated and Bangla gets Bengali digits.
Pieces go onto pages in order: on SMS each page, wrapped in the message that carries it, fits
SMS_SEGMENTS; on WhatsApp, WHATSAPP_CHARS. The first page says how to get the next one ("আরো")
when there is one; a piece never moves ahead of another, so the order is always the same.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

import regex

from ..channels.segments import GSM_PART, count
from ..i18n import N_, Catalogues
from ..store.models import OBSTACLES

SMS_SEGMENTS = 2  # every SMS a digest sends fits two segments (tests check it at 5-digit counts)
WHATSAPP_CHARS = 1600  # Twilio's limit on one message body
SHORT_NAME = 24  # a school's short name keeps at most this many letters (grapheme clusters)
ABBREVIATIONS = (  # how a school's name is shortened, longest first: the usual short forms
    ("সরকারি প্রাথমিক বিদ্যালয়", "সপ্রাবি"),
    ("প্রাথমিক বিদ্যালয়", "প্রাবি"),
    ("Government Primary School", "GPS"),
    ("Govt. Primary School", "GPS"),
    ("Govt Primary School", "GPS"),
    ("Primary School", "PS"),
)
PAGE_MARK_WORST = 99  # page numbers are reserved as if two digits wide while packing

# pieces of an area's digest
REACH = N_("digest.reach")
CHANGE = N_("digest.change")
PRACTICE = N_("digest.practice")
MEETINGS = N_("digest.meetings")
OBSTACLE = N_("digest.obstacle")
VISIT = {"officer": N_("digest.visit"), "ambassador": N_("digest.call")}
BEHIND = N_("digest.behind")
LEARNING = N_("digest.learning")
LEARNING_LAST = N_("digest.learning_last")
LIST_HEAD = {"officer": N_("digest.visit_list"), "ambassador": N_("digest.call_list")}
LIST_NONE = N_("digest.visit_none")
HINT = N_("digest.hint")
SCHOOL_DETAIL = N_("digest.school_detail")
SCHOOL_UNKNOWN = N_("digest.school_unknown")
MEETING = {True: N_("digest.meeting_yes"), False: N_("digest.meeting_no"),
           None: N_("digest.meeting_unknown")}
OBSTACLE_NAMES = {"time": N_("obstacle.time"), "materials": N_("obstacle.materials"),
                  "understanding": N_("obstacle.understanding"), "other": N_("obstacle.other")}
assert set(OBSTACLE_NAMES) == set(OBSTACLES), "every coded obstacle needs its name"
# pieces of a headteacher's summary
HEAD_TRIED = N_("head.tried")
HEAD_TRIED_NONE = N_("head.tried_none")
HEAD_NOTHING = N_("head.nothing")
HEAD_OBSTACLE = N_("head.obstacle")
HEAD_LEVELS = N_("head.levels")
HEAD_QUESTION = N_("head.question")
HEAD_QUESTIONS = N_("head.questions")
MORE_PEOPLE = N_("head.more_people")

_GRAPHEME = regex.compile(r"\X")


class Writer:
    """Renders pieces in one language, for one channel."""

    def __init__(self, catalogues: Catalogues, language: str, channel: str,
                 levels: list[int]):
        self.catalogues, self.language, self.channel = catalogues, language, channel
        self.levels = levels  # every assessment level, lowest first (flows/assessment/levels.yaml)

    def t(self, key: str, **params) -> str:
        return self.catalogues.text(key, self.language, **params)

    @property
    def sep(self) -> str:
        return "\n" if self.channel == "whatsapp" else " "

    def fits(self, text: str) -> bool:
        if self.channel == "whatsapp":
            return len(text) <= WHATSAPP_CHARS
        # a quick no: more UTF-16 units than SMS_SEGMENTS full parts can hold never fits
        # (a GSM-7 text has no more septets than units, and its parts hold more)
        if len(text.encode("utf-16-le")) // 2 > SMS_SEGMENTS * GSM_PART:
            return False
        return count(text).segments <= SMS_SEGMENTS

    # -- small forms -----------------------------------------------------------------------
    def share(self, part: int, whole: int) -> str:
        return f"{round(100 * part / whole)}%" if whole else "–"

    def level_range(self) -> str:
        return f"{self.levels[0]}-{self.levels[-1]}"

    def level_shares(self, levels: Counter) -> str:
        total = sum(levels.values())
        return "/".join(str(round(100 * levels.get(n, 0) / total)) for n in self.levels) + "%"

    def level_counts(self, levels: Counter) -> str:
        return "/".join(str(levels.get(n, 0)) for n in self.levels)

    def obstacle(self, code: str) -> str:
        return self.t(OBSTACLE_NAMES[code])


def short_name(name: str) -> str:
    """'চরফ্যাশন সরকারি প্রাথমিক বিদ্যালয়' -> 'চরফ্যাশন সপ্রাবি', at most SHORT_NAME letters."""
    for long, short in ABBREVIATIONS:
        if long.casefold() in name.casefold():
            start = name.casefold().index(long.casefold())
            name = name[:start] + short + name[start + len(long):]
            break
    letters = _GRAPHEME.findall(" ".join(name.split()))
    if len(letters) <= SHORT_NAME:
        return "".join(letters)
    return "".join(letters[:SHORT_NAME - 1]) + "…"


def clip(text: str, fits: Callable[[str], bool]) -> str:
    """`text`, cut at a letter boundary with '…' until `fits` holds."""
    if fits(text):
        return text
    letters = _GRAPHEME.findall(text)
    lo, hi = 0, len(letters)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if fits("".join(letters[:mid]) + "…"):
            lo = mid
        else:
            hi = mid - 1
    return "".join(letters[:lo]) + "…"


def paginate(pieces: list[str], sep: str, first: Callable[[str], str],
             rest: Callable[[str], str], fits: Callable[[str], bool], hint: str) -> list[str]:
    """The contents of each page: page 1 goes out as `first(content)`, the others as
    `rest(content)`, each `fits`. When more pages follow, page 1's content ends with `hint`."""
    pieces = [p for p in pieces if p]
    if not pieces:
        return []
    if fits(first(sep.join(pieces))):
        return [sep.join(pieces)]
    pages: list[str] = []
    current: list[str] = []

    def wrapped(items):  # the page as it would go out, hint included on page 1
        body = sep.join(items)
        return first(body + sep + hint) if not pages else rest(body)

    def content(items):  # a list's comma never ends a page
        return sep.join(items).rstrip(",")

    for piece in pieces:
        if current and fits(wrapped(current + [piece])):
            current.append(piece)
            continue
        if current:
            pages.append(content(current) + (sep + hint if not pages else ""))
        current = [clip(piece, lambda p: fits(wrapped([p])))]
    pages.append(content(current))
    return pages


def names(writer: Writer, people: list[str], fits: Callable[[str], bool]) -> str:
    """'রহিমা বেগম, আনজলি দাস' or, when they do not all fit, the first ones and '+3 জন'."""
    joined = ", ".join(people)
    if fits(joined):
        return joined
    for n in range(len(people) - 1, 0, -1):
        text = ", ".join(people[:n]) + " " + writer.t(MORE_PEOPLE, count=len(people) - n)
        if fits(text):
            return text
    return writer.t(MORE_PEOPLE, count=len(people))
