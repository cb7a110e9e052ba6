"""The pure engine: same input, same events; no clock or I/O inside."""
from datetime import datetime, timedelta, timezone

import pytest

from bot.flows import engine
from bot.flows.definition import parse_flow
from bot.flows.engine import Input

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=timezone.utc)

FLOW = parse_flow("""
id: quiz
start: ask
nodes:
  ask:
    say: [quiz.hello, {default: quiz.reply_1, voice: quiz.press_1}]
    wait: {timeout: 2h, on_timeout: late}
    routes:
      - {number: [1, 2], save_as: choice, goto: branch}
      - {words: ['yes', হ্যাঁ, ji], set: {choice: 1}, goto: branch}
      - {intent: snooze, say: quiz.later, goto: ask}
      - {regex: "^module\\\\s*\\\\d+$", action: {name: note, args: {kind: module}}, goto: ask}
    otherwise: {say: quiz.again, max: 1, then: late}
  branch:
    routes:
      - {when: {field: choice, is: 2}, say: quiz.two}
      - {when: {field: contact.role, in: [teacher]}, say: quiz.teacher, goto: done}
    goto: done
  done:
    set: {contact.language: en}
  late:
    say: quiz.late
    end: interrupted
""")


def kinds(events):
    return [(e.type, getattr(e, "key", getattr(e, "name", getattr(e, "status", None))))
            for e in events]


def test_start_says_and_waits_with_a_timeout():
    s, ev = engine.start(FLOW, {"role": "teacher"}, "sms", NOW)
    assert kinds(ev) == [("msg_created", "quiz.hello"), ("msg_created", "quiz.reply_1"),
                         ("input_expected", None)]
    assert ev[-1].timeout_at == NOW + timedelta(hours=2)
    assert s["status"] == "waiting" and s["node"] == "ask"


def test_voice_gets_its_own_prompt():
    _, ev = engine.start(FLOW, {"role": "teacher"}, "voice", NOW)
    assert ("msg_created", "quiz.press_1") in kinds(ev)


def test_number_route_saves_and_branches_on_fields():
    s, _ = engine.start(FLOW, {"role": "teacher"}, "sms", NOW)
    s2, ev = engine.resume(FLOW, s, Input(text="২", number=2), NOW)
    assert kinds(ev) == [("field_set", "choice"), ("msg_created", "quiz.two"),
                         ("flow_ended", "completed")]
    assert s2["fields"] == {"choice": 2} and s2["status"] == "ended"
    assert s["status"] == "waiting"  # the input session is not changed


def test_words_match_in_either_script_and_contact_fields_route():
    s, _ = engine.start(FLOW, {"role": "teacher", "language": "bn"}, "sms", NOW)
    s, ev = engine.resume(FLOW, s, Input(text="  হ্যাঁ! "), NOW)
    assert ("msg_created", "quiz.teacher") in kinds(ev)
    assert s["contact"]["language"] == "en"
    assert ("field_set", "contact.language") in kinds(ev)


def test_intent_and_regex_routes():
    s, _ = engine.start(FLOW, {}, "sms", NOW)
    s, ev = engine.resume(FLOW, s, Input(text="pore", intent="snooze"), NOW)
    assert kinds(ev)[0] == ("msg_created", "quiz.later") and s["node"] == "ask"
    s, ev = engine.resume(FLOW, s, Input(text="Module 3"), NOW)
    assert ev[0].type == "action_called" and ev[0].args == {"kind": "module"}


def test_unmatched_input_retries_then_moves_on():
    s, _ = engine.start(FLOW, {}, "sms", NOW)
    s, ev = engine.resume(FLOW, s, Input(text="blue"), NOW)
    assert kinds(ev) == [("input_rejected", None), ("msg_created", "quiz.again"),
                         ("input_expected", None)]
    assert ev[-1].timeout_at == NOW + timedelta(hours=2)  # the retry keeps the first deadline
    s, ev = engine.resume(FLOW, s, Input(text="green"), NOW + timedelta(minutes=5))
    assert kinds(ev)[-2:] == [("msg_created", "quiz.late"), ("flow_ended", "interrupted")]


def test_timeout_goes_to_on_timeout():
    s, _ = engine.start(FLOW, {}, "sms", NOW)
    s, ev = engine.resume(FLOW, s, Input(timeout=True), NOW + timedelta(hours=2))
    assert kinds(ev) == [("msg_created", "quiz.late"), ("flow_ended", "interrupted")]


def test_resume_of_an_ended_session_is_refused():
    s, _ = engine.start(FLOW, {}, "sms", NOW)
    s, _ = engine.resume(FLOW, s, Input(text="1", number=1), NOW)
    with pytest.raises(ValueError):
        engine.resume(FLOW, s, Input(text="1", number=1), NOW)


def test_a_flow_that_loops_without_waiting_is_caught():
    loop = parse_flow("""
id: loop
start: a
nodes:
  a: {goto: b}
  b: {goto: a}
""")
    with pytest.raises(engine.FlowLoopError):
        engine.start(loop, {}, "sms", NOW)


def test_same_input_same_events():
    s, _ = engine.start(FLOW, {"role": "teacher"}, "sms", NOW)
    a = engine.resume(FLOW, s, Input(text="1", number=1), NOW)
    b = engine.resume(FLOW, s, Input(text="1", number=1), NOW)
    assert a == b


def test_start_with_fields_has_them_before_the_start_node_so_it_can_route_on_them():
    flow = parse_flow("""
id: entry
start: pick
nodes:
  pick:
    routes:
      - {when: {field: entry, is: ready}, say: entry.ready}
    goto: ask
  ask:
    say: entry.ask
    wait: {}
""")
    s, ev = engine.start(flow, {}, "sms", NOW, fields={"entry": "ready", "l1": 2})
    # known already, not answers: no field_set events (they would be stored as answers)
    assert kinds(ev) == [("msg_created", "entry.ready"), ("flow_ended", "completed")]
    assert s["fields"] == {"entry": "ready", "l1": 2}
    s, ev = engine.start(flow, {}, "sms", NOW)
    assert kinds(ev)[0] == ("msg_created", "entry.ask") and s["fields"] == {}


def test_a_waiting_node_offers_its_own_words_only():
    """What a keyword must not swallow: the words a route of the waiting node names."""
    s, _ = engine.start(FLOW, {"role": "teacher"}, "sms", NOW)
    assert engine.offers(FLOW, s, "Ji") and engine.offers(FLOW, s, "হ্যাঁ!")
    assert not engine.offers(FLOW, s, "1")  # numbers are never keywords anyway
    assert not engine.offers(FLOW, s, "start") and not engine.offers(FLOW, s, "")
    ended, _ = engine.resume(FLOW, s, Input(text="2", number=2), NOW)
    assert not engine.offers(FLOW, ended, "ji")


ANY_TEXT = parse_flow("""
id: plan
start: ask
nodes:
  ask:
    wait: {}
    routes:
      - {any_text: true, not_intent: [question], save_as: plan, goto: done}
  done:
    say: plan.thanks
""")


def test_not_intent_leaves_a_question_to_be_answered_on_its_own():
    s, _ = engine.start(ANY_TEXT, {}, "sms", NOW)
    _, ev = engine.resume(ANY_TEXT, s, Input(text="video kothay?", intent="question"), NOW)
    assert kinds(ev)[0] == ("input_rejected", None)  # the turn answers the question
    _, ev = engine.resume(ANY_TEXT, s, Input(text="budhbar", intent="repeat"), NOW)
    assert ("field_set", "plan") in kinds(ev)
    _, ev = engine.resume(ANY_TEXT, s, Input(text="kal"), NOW)
    assert ("field_set", "plan") in kinds(ev)
