"""A broken flow is refused with its file, line and reason; the shipped flows load."""
import pytest

from bot.config import ROOT
from bot.runtime import ACTIONS
from bot.flows.definition import FlowError, load_flows, parse_flow

GOOD = """\
id: demo
start: ask
nodes:
  ask:
    say: demo.ask
    wait: {timeout: 1d, on_timeout: bye}
    routes:
      - {number: 1, goto: bye}
  bye:
    say: demo.bye
"""


def refused(text, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlowError) as e:
        load_flows(tmp_path, actions=set(ACTIONS))
    return e.value


def test_shipped_flows_load():
    flows = load_flows(ROOT / "flows", actions=set(ACTIONS))
    assert "onboarding" in flows


def test_a_good_flow_loads(tmp_path):
    (tmp_path / "demo.yaml").write_text(GOOD)
    assert load_flows(tmp_path)["demo"].start == "ask"


def test_goto_to_a_missing_node_names_its_line(tmp_path):
    err = refused(GOOD.replace("{number: 1, goto: bye}", "{number: 1, goto: byee}"), tmp_path)
    assert (err.line, err.path.endswith("broken.yaml")) == (8, True)
    assert "byee" in err.reason and "not defined" in err.reason
    assert str(err).startswith(err.path + ":8: ")


def test_literal_text_instead_of_a_key_is_refused_at_its_line(tmp_path):
    err = refused(GOOD.replace("say: demo.bye", "say: Goodbye, see you!"), tmp_path)
    assert err.line == 10
    assert "nodes/bye/say" in err.reason


def test_unknown_field_in_a_route(tmp_path):
    err = refused(GOOD.replace("{number: 1, goto: bye}", "{number: 1, gotoo: bye}"), tmp_path)
    assert err.line == 8 and "gotoo" in err.reason


def test_bad_timeout_and_unknown_action(tmp_path):
    assert refused(GOOD.replace("timeout: 1d", "timeout: 1 week"), tmp_path).line == 6
    err = refused(GOOD + "    action: launch_rockets\n", tmp_path)
    assert err.line == 11 and "launch_rockets" in err.reason


def test_invalid_yaml_names_the_line(tmp_path):
    err = refused(GOOD.replace("routes:", "routes: [", 1), tmp_path)
    assert err.line is not None and "YAML" in err.reason


def test_start_must_exist(tmp_path):
    err = refused(GOOD.replace("start: ask", "start: nowhere"), tmp_path)
    assert err.line == 2


def test_input_routes_need_a_wait(tmp_path):
    err = refused(GOOD.replace("    wait: {timeout: 1d, on_timeout: bye}\n", ""), tmp_path)
    assert "does not wait" in err.reason and err.line == 7


def test_parse_flow_reports_duplicate_ids(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(FlowError, match="also used by"):
        load_flows(tmp_path)


def test_empty_file(tmp_path):
    with pytest.raises(FlowError, match="empty"):
        parse_flow("", "x.yaml")
