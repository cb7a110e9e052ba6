"""The flow engine: pure functions from (flow, session, input, now) to (session, events).

No I/O, no clock, no randomness: the caller passes `now` and acts on the events. A session is
a plain JSON-serialisable dict, so it can be cached in Redis and snapshotted in SQL as is:

    {"flow": "onboarding", "node": "ask_language", "status": "waiting" | "ended",
     "channel": "sms", "contact": {...}, "fields": {...}, "tries": {node: n},
     "timeout_at": ISO time or None}
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..i18n import N_
from ..parse import normalise
from .definition import Flow
from .events import (
    ActionCalled,
    Event,
    FieldSet,
    FlowEnded,
    InputExpected,
    InputRejected,
    MsgCreated,
)

DIDNT_UNDERSTAND = N_("common.didnt_understand")
MAX_STEPS = 100  # nodes entered in one call before the flow is judged to loop


class FlowLoopError(RuntimeError):
    """A flow went round without waiting; a flow authoring mistake."""


@dataclass(frozen=True)
class Input:
    """What a person sent, already parsed: a number in either digit script, an intent, or both;
    and the URLs of any media (a WhatsApp photo, a voice note) that came with it."""

    text: str = ""
    number: int | None = None
    intent: str | None = None
    timeout: bool = False
    media: tuple[str, ...] = ()


_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def duration(spec: str) -> timedelta:
    return timedelta(**{_UNITS[spec[-1]]: int(spec[:-1])})


def start(flow: Flow, contact: dict, channel: str, now: datetime,
          fields: dict | None = None) -> tuple[dict, list[Event]]:
    """Start a flow; `fields` are what the starter already knows (this week's activity, an
    entry parsed before the flow began), set before the start node so it can route on them.
    They are not field_set events: the starter has them already, and they are not answers."""
    session = {"flow": flow.id, "node": None, "status": "active", "channel": channel,
               "contact": dict(contact), "fields": dict(fields or {}), "tries": {},
               "timeout_at": None}
    events: list[Event] = []
    _enter(flow, session, flow.start, now, events)
    return session, events


def resume(flow: Flow, session: dict, inp: Input, now: datetime) -> tuple[dict, list[Event]]:
    if session.get("status") != "waiting":
        raise ValueError("the session is not waiting for input")
    session = copy.deepcopy(session)
    events: list[Event] = []
    node_name = session["node"]
    node = flow.node(node_name)

    if inp.timeout:
        target = node.get("wait", {}).get("on_timeout")
        if target:
            _enter(flow, session, target, now, events)
        else:
            _end(session, "expired", events)
        return session, events

    for route in node.get("routes", []):
        if _matches(route, inp, session):
            _take(flow, session, route, inp, now, events)
            return session, events

    events.append(InputRejected(node=node_name, text=inp.text))
    tries = session["tries"][node_name] = session["tries"].get(node_name, 0) + 1
    otherwise = node.get("otherwise", {})
    if "max" in otherwise and tries > otherwise["max"]:
        if "then" in otherwise:
            _enter(flow, session, otherwise["then"], now, events)
        else:
            _end(session, "expired", events)
        return session, events
    _say(session, otherwise.get("say", DIDNT_UNDERSTAND), events)
    events.append(InputExpected(node=node_name, timeout_at=_parse_time(session["timeout_at"])))
    return session, events


def offers(flow: Flow, session: dict, text: str) -> bool:
    """True when the node the session waits at names `text` among its own options (a route's
    `words`): such an answer is the flow's, never a keyword's (START, HELP)."""
    if session.get("status") != "waiting" or not normalise(text):
        return False
    return any("words" in route and normalise(text) in {normalise(w) for w in route["words"]}
               for route in flow.node(session["node"]).get("routes", []))


def _enter(flow: Flow, session: dict, name: str, now: datetime, events: list[Event]) -> None:
    for _ in range(MAX_STEPS):
        node = flow.node(name)
        session["node"] = name
        _effects(session, node, events)
        if "wait" in node:
            session["status"] = "waiting"
            wait = node["wait"]
            if "until" in wait:  # a time a field holds, e.g. one a `snooze` action works out
                timeout_at = _parse_time(session["fields"].get(wait["until"]) or None)
            else:
                timeout_at = now + duration(wait["timeout"]) if "timeout" in wait else None
            session["timeout_at"] = timeout_at.isoformat() if timeout_at else None
            events.append(InputExpected(node=name, timeout_at=timeout_at, until=wait.get("until")))
            return
        route = next((r for r in node.get("routes", []) if _matches(r, Input(), session)), None)
        if route is not None:
            _apply(session, route, Input(), events)
            target = route.get("goto")
        else:
            target = node.get("goto")
        if target is None:
            _end(session, node.get("end", "completed"), events)
            return
        name = target
    raise FlowLoopError(f"flow '{flow.id}' entered {MAX_STEPS} nodes without waiting")


def _take(flow, session, route, inp, now, events) -> None:
    _apply(session, route, inp, events)
    if "goto" in route:
        _enter(flow, session, route["goto"], now, events)
    else:
        _end(session, "completed", events)


def _apply(session: dict, route: dict, inp: Input, events: list[Event]) -> None:
    if "save_as" in route:
        value = inp.number if inp.number is not None else inp.text
        if not str(value).strip() and inp.media:  # a photo without a caption: keep the photo
            value = inp.media[0]
        _set(session, {route["save_as"]: value}, events)
    _effects(session, route, events)


def _effects(session: dict, holder: dict, events: list[Event]) -> None:
    """What a node (on entry) or a route (when taken) does, always in this order: fields first,
    so a message said right after `set: {contact.language: en}` is already in English."""
    if "set" in holder:
        _set(session, holder["set"], events)
    if "say" in holder:
        _say(session, holder["say"], events)
    if "action" in holder:
        _act(holder["action"], events)


def _matches(route: dict, inp: Input, session: dict) -> bool:
    if inp.intent is not None and inp.intent in route.get("not_intent", ()):
        return False  # e.g. a question while the flow waits for any text: answered on its own
    if "when" in route:
        value = _get(session, route["when"]["field"])
        cond = route["when"]
        if not (value == cond["is"] if "is" in cond else value in cond["in"]):
            return False
    if "number" in route:
        wanted = route["number"] if isinstance(route["number"], list) else [route["number"]]
        if inp.number in wanted:
            return True
    if "words" in route:
        text = normalise(inp.text)
        if text and text in {normalise(w) for w in route["words"]}:
            return True
    if "intent" in route:
        wanted = route["intent"] if isinstance(route["intent"], list) else [route["intent"]]
        if inp.intent in wanted:
            return True
    if "regex" in route and inp.text and re.search(route["regex"], inp.text, re.IGNORECASE):
        return True
    if route.get("any_text") and inp.text.strip():
        return True
    if route.get("media") and inp.media:
        return True
    # a route with only a condition matches when the condition holds
    return "when" in route and not (set(route) & {"number", "words", "intent", "regex",
                                                  "any_text", "media"})


def _say(session: dict, say, events: list[Event]) -> None:
    for item in say if isinstance(say, list) else [say]:
        if isinstance(item, dict):
            item = item.get(session["channel"], item["default"])
        events.append(MsgCreated(key=item))


def _set(session: dict, values: dict, events: list[Event]) -> None:
    for name, value in values.items():
        if name.startswith("contact."):
            session["contact"][name.removeprefix("contact.")] = value
        else:
            session["fields"][name] = value
        events.append(FieldSet(name=name, value=value))


def _act(action, events: list[Event]) -> None:
    if isinstance(action, str):
        events.append(ActionCalled(name=action))
    else:
        events.append(ActionCalled(name=action["name"], args=dict(action.get("args", {}))))


def _get(session: dict, name: str):
    if name.startswith("contact."):
        return session["contact"].get(name.removeprefix("contact."))
    return session["fields"].get(name)


def _end(session: dict, status: str, events: list[Event]) -> None:
    session["status"] = "ended"
    session["result"] = status
    session["timeout_at"] = None
    events.append(FlowEnded(status=status))


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
