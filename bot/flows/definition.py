"""Flows as data: load flows/*.yaml, validate against flow.schema.json, refuse with file:line.

A flow that fails validation is never half-loaded: `load_flows` raises `FlowError` naming the
file, the line and the reason, so `sathi serve` refuses to start on a broken flow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..schemas import DataFileError, line_of, load_yaml, read_text, schema_problem

SCHEMA_PATH = Path(__file__).resolve().parent / "flow.schema.json"
NOT_FLOWS = ("keywords.yaml", "campaigns.yaml")  # data files in flows/ that are not flows
TEXT_CHANNELS = ("sms", "whatsapp")  # where a flow runs when it does not name its channels


class FlowError(DataFileError):
    """A flow file that cannot be used; str() is 'file:line: reason'."""


@dataclass(frozen=True)
class Flow:
    id: str
    start: str
    nodes: dict
    path: str
    channels: tuple[str, ...] = TEXT_CHANNELS

    def node(self, name: str) -> dict:
        return self.nodes[name]

    def runs_on(self, channel: str) -> bool:
        return channel in self.channels


def _targets(node_def: dict):
    """(path, node name) of every node a node can lead to."""
    if "goto" in node_def:
        yield ("goto",), node_def["goto"]
    if "on_timeout" in node_def.get("wait", {}):
        yield ("wait", "on_timeout"), node_def["wait"]["on_timeout"]
    if "then" in node_def.get("otherwise", {}):
        yield ("otherwise", "then"), node_def["otherwise"]["then"]
    for i, route in enumerate(node_def.get("routes", [])):
        if "goto" in route:
            yield ("routes", i, "goto"), route["goto"]


def _action_names(node_def: dict):
    for path, holder in [((), node_def)] + [(("routes", i), r) for i, r in
                                            enumerate(node_def.get("routes", []))]:
        action = holder.get("action")
        if action is not None:
            yield path + ("action",), action if isinstance(action, str) else action["name"]


def parse_flow(text: str, path: Path | str = "<flow>", actions=None) -> Flow:
    """Validate one flow's YAML text; `actions` is the set of known action names."""
    tree, data = load_yaml(text, path, FlowError)
    problem = schema_problem(SCHEMA_PATH, data)
    if problem:
        raise FlowError(path, line_of(tree, problem[0]), problem[1])
    nodes = data["nodes"]
    if data["start"] not in nodes:
        raise FlowError(path, line_of(tree, ["start"]), f"start node '{data['start']}' is not defined")
    for name, node_def in nodes.items():
        for sub, target in _targets(node_def):
            if target not in nodes:
                raise FlowError(path, line_of(tree, ["nodes", name, *sub]),
                                f"node '{name}' goes to '{target}', which is not defined")
        if actions is not None:
            for sub, action in _action_names(node_def):
                if action not in actions:
                    raise FlowError(path, line_of(tree, ["nodes", name, *sub]),
                                    f"unknown action '{action}'")
        for i, route in enumerate(node_def.get("routes", [])):
            if "regex" in route:
                try:
                    re.compile(route["regex"])
                except re.error as e:
                    raise FlowError(path, line_of(tree, ["nodes", name, "routes", i, "regex"]),
                                    f"bad regex: {e}") from e
        if "routes" in node_def and "wait" not in node_def:
            for i, route in enumerate(node_def["routes"]):
                if set(route) & {"number", "words", "intent", "regex", "any_text"}:
                    raise FlowError(path, line_of(tree, ["nodes", name, "routes", i]),
                                    f"node '{name}' does not wait, so it can only route on 'when'")
    return Flow(id=data["id"], start=data["start"], nodes=nodes, path=str(path),
                channels=tuple(data.get("channels", TEXT_CHANNELS)))


def load_flows(directory: Path, actions=None) -> dict[str, Flow]:
    """Every flows/*.yaml (not content/), keyed by flow id."""
    if not Path(directory).is_dir():
        raise FlowError(directory, None, "no such directory: set SATHI_FLOWS, or install the "
                        "project from its checkout (pip install -e .)")
    flows: dict[str, Flow] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        if path.name.startswith("_") or path.name in NOT_FLOWS:
            continue
        flow = parse_flow(read_text(path, FlowError), path, actions)
        if flow.id in flows:
            raise FlowError(path, 1, f"flow id '{flow.id}' is also used by {flows[flow.id].path}")
        flows[flow.id] = flow
    return flows


def say_keys(say, channel: str | None = None):
    """The keys of a `say`: with `channel`, as said on it (a per-channel item gives its key for
    that channel, or its default); without, every key it names."""
    for item in say if isinstance(say, list) else [say]:
        if isinstance(item, str):
            yield item
        elif channel is not None:
            yield item.get(channel, item["default"])
        else:
            yield from item.values()


def message_keys(flow: Flow, channel: str | None = None):
    """Every message key a flow can say, for extraction into the catalogues; with `channel`,
    only those it says on that channel."""
    def keys(say):
        return say_keys(say, channel)

    for node_def in flow.nodes.values():
        for holder in [node_def, node_def.get("otherwise", {}), *node_def.get("routes", [])]:
            if "say" in holder:
                yield from keys(holder["say"])


def extract_flow(fileobj, keywords, comment_tags, options):
    """pybabel extractor for flows/*.yaml: yields every message key a flow can say."""
    import yaml

    text = fileobj.read().decode("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "nodes" not in data:  # keywords.yaml and other data
        return
    flow = parse_flow(text, getattr(fileobj, "name", "<flow>"))
    lines = text.splitlines()
    seen = set()
    for key in message_keys(flow):
        if key in seen:
            continue
        seen.add(key)
        lineno = next((i + 1 for i, line in enumerate(lines) if key in line), 0)
        yield lineno, None, key, [f"flow {flow.id}"]
