"""Flows as data: load flows/*.yaml, validate against flow.schema.json, refuse with file:line.

A flow that fails validation is never half-loaded: `load_flows` raises `FlowError` naming the
file, the line and the reason, so `sathi serve` refuses to start on a broken flow.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent / "flow.schema.json"


class FlowError(ValueError):
    """A flow file that cannot be used; str() is 'file:line: reason'."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Flow:
    id: str
    start: str
    nodes: dict
    path: str

    def node(self, name: str) -> dict:
        return self.nodes[name]


@lru_cache(maxsize=8)
def schema_validator(schema_path: Path) -> Draft202012Validator:
    """The validator of a JSON Schema file (flows, content, levels, holidays), itself checked."""
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_problem(schema_path: Path, data) -> tuple[list, str] | None:
    """What is wrong with `data` under the schema, as (the path to it, "where: reason"); None
    when nothing is. Of several errors the deepest says most about what is wrong."""
    errors = sorted(schema_validator(Path(schema_path)).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    err = max(errors, key=lambda e: len(e.absolute_path))
    where = "/".join(str(p) for p in err.absolute_path) or "(top)"
    return list(err.absolute_path), f"{where}: {err.message}"


def load_yaml(text: str, path: Path | str, error: type[FlowError] = FlowError):
    """(node tree, data) of a YAML file; the tree gives line numbers. Invalid YAML or an empty
    file is refused as `error` with file and line."""
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise error(path, mark.line + 1 if mark else None, f"not valid YAML: {e.problem}") from e
    if tree is None:
        raise error(path, 1, "the file is empty")
    return tree, data


def _line_of(node: yaml.Node, path) -> int:
    """The 1-based line of the YAML node at a jsonschema error path."""
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    node = v
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1


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
    tree, data = load_yaml(text, path)
    problem = schema_problem(SCHEMA_PATH, data)
    if problem:
        raise FlowError(path, _line_of(tree, problem[0]), problem[1])
    nodes = data["nodes"]
    if data["start"] not in nodes:
        raise FlowError(path, _line_of(tree, ["start"]), f"start node '{data['start']}' is not defined")
    for name, node_def in nodes.items():
        for sub, target in _targets(node_def):
            if target not in nodes:
                raise FlowError(path, _line_of(tree, ["nodes", name, *sub]),
                                f"node '{name}' goes to '{target}', which is not defined")
        if actions is not None:
            for sub, action in _action_names(node_def):
                if action not in actions:
                    raise FlowError(path, _line_of(tree, ["nodes", name, *sub]),
                                    f"unknown action '{action}'")
        for i, route in enumerate(node_def.get("routes", [])):
            if "regex" in route:
                try:
                    re.compile(route["regex"])
                except re.error as e:
                    raise FlowError(path, _line_of(tree, ["nodes", name, "routes", i, "regex"]),
                                    f"bad regex: {e}") from e
        if "routes" in node_def and "wait" not in node_def:
            for i, route in enumerate(node_def["routes"]):
                if set(route) & {"number", "words", "intent", "regex", "any_text"}:
                    raise FlowError(path, _line_of(tree, ["nodes", name, "routes", i]),
                                    f"node '{name}' does not wait, so it can only route on 'when'")
    return Flow(id=data["id"], start=data["start"], nodes=nodes, path=str(path))


def load_flows(directory: Path, actions=None) -> dict[str, Flow]:
    """Every flows/*.yaml (not content/), keyed by flow id."""
    if not Path(directory).is_dir():
        raise FlowError(directory, None, "no such directory: set SATHI_FLOWS, or install the "
                        "project from its checkout (pip install -e .)")
    flows: dict[str, Flow] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        if path.name.startswith("_") or path.name == "keywords.yaml":
            continue
        flow = parse_flow(path.read_text(encoding="utf-8"), path, actions)
        if flow.id in flows:
            raise FlowError(path, 1, f"flow id '{flow.id}' is also used by {flows[flow.id].path}")
        flows[flow.id] = flow
    return flows


def message_keys(flow: Flow):
    """Every message key a flow can say, for extraction into the catalogues."""
    def keys(say):
        for item in say if isinstance(say, list) else [say]:
            if isinstance(item, str):
                yield item
            else:
                yield from item.values()

    for node_def in flow.nodes.values():
        for holder in [node_def, node_def.get("otherwise", {}), *node_def.get("routes", [])]:
            if "say" in holder:
                yield from keys(holder["say"])
