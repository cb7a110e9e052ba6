"""The compact assessment entry: precise answers for every kind of mistake, and properties
checked on random text (hypothesis): it never crashes, never yields an invalid result, and
every valid rendering reads back as the same levels."""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.assessment.entry import (
    BAD_GRADE,
    LEARNERS,
    NOT_A_LEVEL,
    TOO_FEW,
    TOO_MANY,
    UNKNOWN_WORD,
    Entry,
    number_word,
    read,
    render,
)
from bot.assessment.levels import LevelsError, parse_scale, scale
from bot.config import ROOT
from bot.i18n import bengali_digits

SCALE = scale(str(ROOT / "flows"))
LEVELS = SCALE.numbers_allowed
PROBLEMS = {NOT_A_LEVEL, UNKNOWN_WORD, BAD_GRADE, TOO_FEW, TOO_MANY}


@pytest.mark.parametrize("text, levels, grade", [
    ("A 2 3 1 1 0", (2, 3, 1, 1, 0), None),
    ("a23110", (2, 3, 1, 1, 0), None),
    ("মূল্যায়ন ২ ৩ ১ ১ ০", (2, 3, 1, 1, 0), None),
    ("মূল্যায়ন ২ ৩ ১ ১ ০", (2, 3, 1, 1, 0), None),  # য + nukta, as some keyboards type it
    ("assess 2,3,1,1,0", (2, 3, 1, 1, 0), None),
    ("ASSESS 4-4-3-0-1", (4, 4, 3, 0, 1), None),
    ("A G2 2 3 1 1 0", (2, 3, 1, 1, 0), 2),
    ("A গ্রেড২ ২ ৩ ১ ১ ০", (2, 3, 1, 1, 0), 2),
    ("a g1 23110", (2, 3, 1, 1, 0), 1),
    ("mullayon dui tin ek ek shunno", (2, 3, 1, 1, 0), None),
    ("মূল্যায়ন দুই তিন এক এক শূন্য", (2, 3, 1, 1, 0), None),
    ("Assessment: two, three, one, one, zero.", (2, 3, 1, 1, 0), None),
    ("assess grade two 0 0 0 0 0", (0, 0, 0, 0, 0), 2),
    ("  A\n4 । 3 । 2 । 1 । 0  ", (4, 3, 2, 1, 0), None),
])
def test_compact_entries_read_as_levels(text, levels, grade):
    assert read(text, SCALE) == Entry(levels=levels, grade=grade)


@pytest.mark.parametrize("text, kind, slot, token, count", [
    ("A 2 6 1 1 0", NOT_A_LEVEL, 2, "6", None),
    ("মূল্যায়ন ২ ৩ ১ ১ ৯", NOT_A_LEVEL, 5, "9", None),
    ("A 2 3 six 1 0", NOT_A_LEVEL, 3, "6", None),
    ("A 2 3 x 1 0", UNKNOWN_WORD, 3, "x", None),
    ("A 2 3 1 1", TOO_FEW, None, None, 4),
    ("A 2", TOO_FEW, None, None, 1),
    ("A 2 3 1 1 0 4", TOO_MANY, None, None, 6),
    ("A 231104", TOO_MANY, None, None, 6),
    ("A G5 2 3 1 1 0", BAD_GRADE, None, None, None),
    ("A G 2 3 1 1 0", TOO_FEW, None, None, 4),  # G 2 is the grade: four levels remain
    ("A grade", BAD_GRADE, None, None, None),
])
def test_wrong_entries_say_exactly_what_is_wrong(text, kind, slot, token, count):
    entry = read(text, SCALE)
    assert entry.levels is None and entry.problem is not None
    p = entry.problem
    assert (p.kind, p.slot, p.token, p.count) == (kind, slot, token, count)


def test_the_first_wrong_learner_is_named_before_the_count():
    assert read("A 2 7", SCALE).problem.kind == NOT_A_LEVEL


@pytest.mark.parametrize("text", ["assess", "মূল্যায়ন", "Mullayon", "assessment!"])
def test_a_keyword_alone_starts_the_guided_entry(text):
    assert read(text, SCALE).guided


def test_a_grade_alone_starts_the_guided_entry_for_that_grade():
    entry = read("assess G1", SCALE)
    assert entry.guided and entry.grade == 1
    assert entry.fields(SCALE) == {"top": 4, "grade": 1}


@pytest.mark.parametrize("text", ["A", "a", "A lot of learners did well", "assessed it",
                                  "2 3 1 1 0", "hello", "", "   ", "১", "Anjali 2 3 1 1 0"])
def test_other_messages_are_not_entries(text):
    assert read(text, SCALE) is None


def test_inside_the_flow_bare_numbers_are_an_entry_but_a_single_answer_is_not():
    assert read("2 3 1 1 0", SCALE, in_flow=True).levels == (2, 3, 1, 1, 0)
    assert read("dui tin ek ek shunno", SCALE, in_flow=True).levels == (2, 3, 1, 1, 0)
    assert read("2 3 1", SCALE, in_flow=True).problem.kind == TOO_FEW
    for answer in ["1", "২", "12", "dui", "1 save", "ঠিক আছে", "জানি না 2 3"]:
        assert read(answer, SCALE, in_flow=True) is None, answer


def test_number_words_answer_one_question():
    assert [number_word(w, SCALE) for w in ["dui", "দুই", "Two", "শূন্য", "2", "dui tin", "x"]] \
        == [2, 2, 2, 0, None, None, None]


def test_fields_name_the_problem_for_the_flow():
    assert read("A 2 6 1 1 0", SCALE).fields(SCALE) == {
        "entry": "problem", "problem": NOT_A_LEVEL, "top": 4, "slot": 2, "token": "6"}
    assert read("A G2 2 3 1 1 0", SCALE).fields(SCALE) == {
        "entry": "levels", "top": 4, "l1": 2, "l2": 3, "l3": 1, "l4": 1, "l5": 0, "grade": 2}


def test_the_level_file_is_checked_when_loaded():
    import yaml

    data = yaml.safe_load((ROOT / "flows" / "assessment" / "levels.yaml").read_text("utf-8"))
    parse_scale(data)  # the real file is valid
    bad = dict(data, levels=[dict(data["levels"][0], module=12)] + data["levels"][1:])
    with pytest.raises(LevelsError, match="'module' was unexpected"):
        parse_scale(bad)  # levels name no module: the advice names the activities that suit
    clash = dict(data, levels=[dict(data["levels"][0], words=["যোগ"])] + data["levels"][1:])
    with pytest.raises(LevelsError, match="names two levels"):
        parse_scale(clash)
    gap = dict(data, levels=[data["levels"][0], data["levels"][2]])
    with pytest.raises(LevelsError, match="numbered 0, 1, 2"):
        parse_scale(gap)
    twice = dict(data, numbers={**data["numbers"], 3: ["dui"]})
    with pytest.raises(LevelsError, match="means two numbers"):
        parse_scale(twice)
    with pytest.raises(LevelsError, match="is a required property"):
        parse_scale({k: v for k, v in data.items() if k != "keywords"})


# --- properties -------------------------------------------------------------------------------

def _valid(entry: Entry) -> bool:
    kinds = [entry.levels is not None, entry.problem is not None, entry.guided]
    if sum(kinds) != 1:
        return False
    if entry.levels is not None:
        return (len(entry.levels) == LEARNERS and all(v in LEVELS for v in entry.levels)
                and (entry.grade is None or entry.grade in SCALE.grades))
    if entry.problem is not None:
        return entry.problem.kind in PROBLEMS and entry.grade is None
    return entry.grade is None or entry.grade in SCALE.grades


ALPHABET = st.sampled_from(list("aAgG0123456789০১২৩৪৫৬৭৮৯ ,.-;/।\n\t") +
                           ["মূল্যায়ন", "assess", "dui", "two", "শূন্য", "গ্রেড", "six", "ok",
                            "\u09bc", "\u200c", "é", "٣", "_"])


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(ALPHABET, max_size=20).map("".join)), st.booleans())
def test_random_text_never_crashes_and_never_gives_an_invalid_entry(text, in_flow):
    entry = read(text, SCALE, in_flow=in_flow)
    assert entry is None or _valid(entry)
    if entry is not None:
        entry.fields(SCALE)  # always something the flow can start with


SEPARATORS = [" ", ",", ", ", "-", ".", ";", "/", "  ", "। ", "\n", " , "]
LATIN_KEYWORDS = sorted(k for k in SCALE.keywords if k.isascii())
KEYWORDS = sorted(SCALE.keywords)


def _spellings(n: int) -> list[str]:
    return [str(n), bengali_digits(str(n))] + [w for w, v in SCALE.numbers.items() if v == n]


@st.composite
def renderings(draw):
    levels = draw(st.lists(st.sampled_from(LEVELS), min_size=LEARNERS, max_size=LEARNERS))
    grade = draw(st.one_of(st.none(), st.sampled_from(sorted(SCALE.grades))))
    keyword = draw(st.sampled_from(KEYWORDS))
    if keyword.isascii() and draw(st.booleans()):
        keyword = keyword.upper()
    parts = [keyword]
    if grade is not None:
        parts += [draw(st.sampled_from(sorted(SCALE.grade_words))),
                  draw(st.sampled_from(_spellings(grade)))]
    parts += [draw(st.sampled_from(_spellings(v))) for v in levels]
    text = parts[0]
    for prev, part in zip(parts, parts[1:]):
        glue = SEPARATORS + ([""] if prev[-1].isdigit() or part[0].isdigit() else [])
        text += draw(st.sampled_from(glue)) + part
    return text, tuple(levels), grade


@settings(max_examples=500)
@given(renderings())
def test_every_valid_rendering_reads_back_as_the_same_levels(case):
    text, levels, grade = case
    assert read(text, SCALE) == Entry(levels=levels, grade=grade), text


@settings(max_examples=300)
@given(st.lists(st.sampled_from(LEVELS), min_size=LEARNERS, max_size=LEARNERS),
       st.integers(0, LEARNERS - 1), st.integers(5, 9),
       st.sampled_from(["spaces", "commas", "none"]))
def test_one_level_out_of_range_is_named_with_its_learner(levels, at, bad, style):
    levels = list(levels)
    levels[at] = bad
    p = read(render(levels, style=style), SCALE).problem
    assert (p.kind, p.slot, p.token) == (NOT_A_LEVEL, at + 1, str(bad))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(ALPHABET, max_size=20).map("".join),
                renderings().map(lambda case: case[0])),
       st.lists(st.sampled_from(["1", "2", "dui", "৩", "9", "ok", "না"]), max_size=3))
def test_whatever_is_sent_the_flow_only_reaches_save_with_five_valid_levels(text, replies):
    """Random text starts the flow as inbound does; then the teacher says "1" (save) after
    a few more replies. Whenever save_assessment would run, the run holds five valid levels."""
    from datetime import datetime, timezone

    from bot.flows import engine
    from bot.flows.actions import ACTIONS
    from bot.flows.definition import parse_flow
    from bot.parse import number

    flow = parse_flow((ROOT / "flows" / "assessment.yaml").read_text("utf-8"), "a", set(ACTIONS))
    now = datetime(2026, 11, 24, 4, tzinfo=timezone.utc)
    entry = read(text, SCALE)
    if entry is None:
        return
    saved_any = []

    def check(session, events):
        for ev in events:
            if getattr(ev, "name", None) == "save_assessment":
                saved = [session["fields"].get(f"l{i}") for i in range(1, 6)]
                assert all(v in LEVELS for v in saved), saved
                saved_any.append(saved)

    s, events = engine.start(flow, {"role": "teacher"}, "sms", now, entry.fields(SCALE))
    check(s, events)
    for reply in [*replies, "1"]:
        if s["status"] != "waiting":
            break
        n = number(reply)  # as inbound reads a reply inside the flow
        n = n if n is not None else number_word(reply, SCALE)
        s, events = engine.resume(flow, s, engine.Input(text=reply, number=n), now)
        check(s, events)
    if entry.levels is not None and not replies:  # a good entry and "1": saved as entered
        assert saved_any == [list(entry.levels)]


@pytest.mark.parametrize("text, line, reason", [
    ("grades: [1]\ngrades: [2]\n", 2, "'grades' is given twice (first on line 1)"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"b{i}: &b{i} [{', '.join(['*a' if i == 1 else f'*b{i - 1}'] * 10)}]\n"
        for i in range(1, 6)), 6, "too large once its aliases are expanded"),
    ("grades: [1]\nlevels: 2026-13-01\n", 2, "not a date: month must be in 1..12"),
])
def test_a_levels_file_is_read_as_every_data_file_is(tmp_path, text, line, reason):
    # PyYAML's own reader took these before: no line, a key's last value, a bomb checked
    from bot.assessment.levels import LEVELS_FILE

    path = tmp_path / LEVELS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    with pytest.raises(LevelsError, match=f"^{re.escape(str(path))}:{line}: {re.escape(reason)}"):
        scale.__wrapped__(str(tmp_path))
