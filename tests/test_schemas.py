"""bot/schemas.py's cache of schema checks: it never gives one data's verdict to other data, and
a small file cannot make it build a huge key."""
from __future__ import annotations

import json
import resource
import time

import pytest
import yaml

from bot.campaigns.content import ContentError, parse_content
from bot.schemas import _key, schema_problem

from test_content import GOOD


@pytest.fixture
def schema(tmp_path):
    path = tmp_path / "nested.schema.json"
    path.write_text(json.dumps({"type": "object", "properties": {"a": {
        "type": "object", "properties": {"a": {"type": "object", "required": ["k"]}}}}}))
    return path


def test_a_file_edited_to_invalid_valid_and_invalid_again_gets_each_verdict(tmp_path):
    bad = GOOD.replace('id: "1.1"', "id: 1.1")
    for text, refused in ((bad, True), (GOOD, False), (bad, True), (GOOD, False)):
        if refused:
            with pytest.raises(ContentError, match="is not of type 'string'"):
                parse_content(text, tmp_path / "modules.yaml")
        else:
            parse_content(text, tmp_path / "modules.yaml")


def test_data_that_differ_only_in_types_have_their_own_verdicts(schema):
    typed = {"a": {"a": {"k": 1}}}
    assert schema_problem(schema, typed) is None
    assert schema_problem(schema, {"a": {"a": ["k"]}})[1] == "a/a: ['k'] is not of type 'object'"
    for a, b in (("2026-01-01", yaml.safe_load("2026-01-01")), (1, True), (1, 1.0), ("1", 1),
                 (None, "null"), ([1], (1,))):
        assert _key({"x": a}) != _key({"x": b})


def test_an_alias_inside_its_own_anchor_is_not_mistaken_for_another_shape(schema):
    # repr() writes both as {'a': {'a': {...}}, 'k': 1}: in the first the inner alias names
    # the top mapping (which has k), in the second the middle one (which has not)
    holds_k = yaml.safe_load("&w {a: {a: *w}, k: 1}")
    lacks_k = yaml.safe_load("{a: &b {a: *b}, k: 1}")
    assert schema_problem(schema, holds_k) is None
    assert schema_problem(schema, lacks_k) == (["a", "a"], "a/a: 'k' is a required property")


def test_a_long_text_named_by_many_aliases_is_not_written_out_for_the_cache(tmp_path):
    # ~20 KB of YAML whose 10,000 aliases of one 20 KB text made a 200 MB repr() key
    refs = ", ".join(["*s"] * 50)
    bomb = GOOD.replace("title: {bn: গণনা", 'title: {bn: &s "' + "x" * 20_000 + '"', 1) + (
        f"x1: &l1 [{refs}]\nx2: &l2 [{', '.join(['*l1'] * 50)}]\nx3: [*l2, *l2, *l2, *l2]\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ContentError, match="Additional properties"):
        parse_content(bomb, tmp_path / "modules.yaml")
    assert time.monotonic() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB


@pytest.mark.parametrize("text, line, reason", [
    # a str that is not UTF-8 (from Python, not a file: read_text refuses those bytes first)
    (GOOD.replace("title: {bn: ক", "title: {bn: ক\ud800"), 8,
     "not valid YAML: a character it does not allow (U+D800)"),
    # a control character's line counts the line breaks YAML counts, as every other refusal's
    # line does (the tree's marks): CR alone, NEL
    (GOOD.replace("\n", "\r").replace("title: {bn: ক", "title: {bn: ক\x07"), 8,
     "not valid YAML: a character it does not allow (U+0007)"),
    (GOOD.replace("\n", "\x85", 3).replace("title: {bn: ক", "title: {bn: ক\x07"), 8,
     "not valid YAML: a character it does not allow (U+0007)"),
    # a date that is not one (a ValueError of the YAML constructor, a traceback before)
    (GOOD.replace("levels: [0]", "levels: [0]\n        video: 2026-02-30"), 8,
     "not a date: day is out of range for month"),
    # what libyaml and the Python parser both build depth first: a RecursionError before
    (GOOD + "x: " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply"),
    (GOOD + "x: " + "{a: " * 5000 + "}" * 5000 + "\n", None, "nested too deeply"),
])
def test_text_no_parser_can_read_is_refused_with_file_and_reason(tmp_path, text, line, reason):
    path = tmp_path / "modules.yaml"
    with pytest.raises(ContentError) as e:
        parse_content(text, path)
    assert str(e.value).startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert reason in str(e.value)


@pytest.mark.parametrize("text, line", [
    ("modules: &m [{id: 1, title: {bn: ক}, activities: *m}]\n", 1),
    (GOOD + "tips:\n  - &t\n    id: x\n    more: [*t]\n", 13),
])
def test_an_alias_inside_its_own_anchor_is_refused_with_its_line(tmp_path, text, line):
    path = tmp_path / "modules.yaml"
    with pytest.raises(ContentError, match=f"^{path}:{line}: an alias inside its own anchor"):
        parse_content(text, path)


def test_a_channels_or_days_file_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    from bot.campaigns.plans import DAYS_FILE, DaysError, day_words
    from bot.channels.gateway_config import ChannelsFileError, load

    channels = tmp_path / "channels.yaml"
    channels.write_bytes(b"channels:\n  - name: sim\xff\n")
    with pytest.raises(ChannelsFileError, match=f"^{channels}:2: not UTF-8 text$"):
        load(channels, env={})
    days = tmp_path / DAYS_FILE
    days.parent.mkdir(parents=True)
    days.write_bytes(b"weekdays: {}\n\nrelative: {\xe0\xa6: []}\n")
    with pytest.raises(DaysError, match=f"^{days}:3: not UTF-8 text$"):
        day_words(str(tmp_path))
    # a recursive channels file used to recurse in the ${NAME} interpolation until it crashed
    with pytest.raises(ChannelsFileError, match="an alias inside its own anchor"):
        channels.write_text("channels: &c [*c]\n")
        load(channels, env={})
