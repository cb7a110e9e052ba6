"""YAML data files checked against JSON Schemas, refused with 'file:line: reason'.

Flows, campaigns, content, assessment levels and the holiday calendar are all data that programme
staff edit. They share one YAML reader (which keeps line numbers) and one schema check (which
picks the deepest error, the one that says most), so every refusal reads the same way.
Imports nothing from the project.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator


class DataFileError(ValueError):
    """A data file that cannot be used; str() is 'file:line: reason'."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@lru_cache(maxsize=8)
def schema_validator(schema_path: Path) -> Draft202012Validator:
    """The validator of a JSON Schema file (flows, content, levels, holidays), itself checked."""
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_problem(schema_path: Path, data) -> tuple[list, str] | None:
    """What is wrong with `data` under the schema, as (the path to it, "where: reason"); None
    when nothing is. Of several errors the deepest says most about what is wrong.
    The same data is checked once: every Runtime (each test, each worker process, each CLI
    command) reads the same flows and content, and the check cost more than the parse. The
    key (`_key`) tells the types apart (a date from the string of one); data whose key would be
    large (a file a staff member is editing, or a few aliases of a long text) or that holds
    itself (an alias inside its own anchor, which no text can tell apart) is checked afresh."""
    schema_path, key = Path(schema_path), _key(data)
    # one look (get), not `in` then [ ]: another thread may clear the cache between the two
    found = _CHECKED.get((schema_path, key), _UNSEEN) if key is not None else _UNSEEN
    if found is _UNSEEN:
        found = _check(schema_path, data)
        if key is not None:
            if len(_CHECKED) >= _KEEP:
                _CHECKED.clear()
            _CHECKED[schema_path, key] = found
    return (list(found[0]), found[1]) if found else None


_CHECKED: dict[tuple[Path, str], tuple[tuple, str] | None] = {}
_UNSEEN = object()
_KEEP = 128  # data checked and kept (the shipped files are about 40)
_KEEP_UP_TO = 256 * 1024  # characters of a key worth keeping


class _TooLarge(Exception):
    pass


def _key(data) -> str | None:
    """A text that only the same data (same types, same values, same order) has, or None when
    it would pass _KEEP_UP_TO characters or the data holds itself. Written out with a budget,
    not with repr(): a 20 KB file whose aliases name one long text 100,000 times is a few GB of
    repr(), and repr() writes an alias inside its own anchor as "..." whichever anchor it names,
    so two files of different shape would share one verdict."""
    parts: list[str] = []
    size = 0
    on_path: set[int] = set()

    def put(text: str) -> None:
        nonlocal size
        size += len(text)
        if size > _KEEP_UP_TO:
            raise _TooLarge
        parts.append(text)

    def walk(value) -> None:
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            if id(value) in on_path:
                raise _TooLarge  # it holds itself
            on_path.add(id(value))
            put(f"{type(value).__name__}(")
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(k)
                    put(":")
                    walk(v)
                    put(",")
            else:
                for v in value:
                    walk(v)
                    put(",")
            put(")")
            on_path.discard(id(value))
        else:  # a scalar: its type and its repr (a str's is quoted, so it cannot end early)
            if isinstance(value, (str, bytes)) and len(value) > _KEEP_UP_TO:
                raise _TooLarge
            put(f"{type(value).__name__}:{value!r}")

    try:
        walk(data)
    except (_TooLarge, RecursionError):
        return None
    return "".join(parts)


def _check(schema_path: Path, data) -> tuple[tuple, str] | None:
    errors = sorted(schema_validator(schema_path).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    err = max(errors, key=lambda e: len(e.absolute_path))
    where = "/".join(str(p) for p in err.absolute_path) or "(top)"
    message = err.message if len(err.message) <= MAX_REASON else err.message[:MAX_REASON] + "…"
    return tuple(err.absolute_path), f"{where}: {message}"


MAX_NODES = 200_000  # YAML nodes a data file may hold once its aliases are expanded
MAX_REASON = 300  # characters of a schema error's text (it may quote a large value)


def read_text(path: Path | str, error: type[DataFileError] = DataFileError) -> str:
    """A data file's text; bytes that are not UTF-8 are refused with their line."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(path, raw[:e.start].count(b"\n") + 1, "not UTF-8 text") from None


def load_yaml(text: str, path: Path | str, error: type[DataFileError] = DataFileError):
    """(node tree, data) of a YAML file; the tree gives line numbers. Invalid YAML, an empty
    file, a key given twice in one mapping, aliases that expand past MAX_NODES (a "billion
    laughs" file) or hold themselves, and nesting deeper than Python's recursion allows are
    refused as `error` with file and line."""
    try:
        return _load(text, path, error)
    except RecursionError:  # both parsers build the tree depth first, and so does the check
        raise error(path, None, "nested too deeply ([ or { inside one another hundreds "
                                "of times)") from None


def _load(text: str, path, error):
    try:
        return _parse(text, path, error, _FAST)
    except (yaml.YAMLError, UnicodeEncodeError):  # libyaml is given UTF-8: a lone surrogate
        pass  # the pure-Python parser decides what libyaml refused: its reasons say more
    try:
        return _parse(text, path, error, yaml.SafeLoader)
    except yaml.YAMLError as e:
        if isinstance(e, yaml.reader.ReaderError):  # a character YAML does not allow
            line = (len(_LINE_BREAK.findall(text, 0, e.position)) + 1
                    if e.position is not None else None)
            raise error(path, line, f"not valid YAML: a character it does not allow "
                                    f"(U+{e.character:04X})" if isinstance(e.character, int)
                        else f"not valid YAML: {e.reason}") from e
        mark = getattr(e, "problem_mark", None)
        raise error(path, mark.line + 1 if mark else None,
                    f"not valid YAML: {getattr(e, 'problem', None) or e}") from e


# what YAML counts as a line break, so a character's line is the one the parsers' marks give
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _parse(text: str, path, error, loader_class):
    loader = loader_class(text)
    try:
        tree = loader.get_single_node()
        if tree is None:
            raise error(path, 1, "the file is empty")
        _check_tree(tree, path, error)
        try:
            return tree, loader.construct_document(tree)  # the data of the same parse: read once
        except ValueError as e:  # a date that is not one: 2026-13-01 (the only value that can)
            raise error(path, _bad_date_line(loader, tree), f"not a date: {e}") from None
    finally:
        loader.dispose()


def _bad_date_line(loader, root: yaml.Node) -> int | None:
    """The line of the first date-like value that is not a date."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            todo.extend(n for kv in reversed(node.value) for n in reversed(kv))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(reversed(node.value))
        elif node.tag == "tag:yaml.org,2002:timestamp":
            try:
                loader.construct_yaml_timestamp(node)
            except ValueError:
                return node.start_mark.line + 1
    return None


# libyaml's parser where PyYAML was built with it (the wheels are): every Runtime, worker and
# CLI command reads the flows, content and campaigns, and the pure-Python parser took ~20x as long
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_tree(root: yaml.Node, path, error) -> None:
    sizes: dict[int, int] = {}  # expanded size of each node, by identity (aliases share nodes)

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known == -1:  # still being counted: an alias inside its own anchor
            raise error(path, node.start_mark.line + 1, "an alias inside its own anchor: the "
                        "value would hold itself without end")
        if known is not None:
            return known
        sizes[id(node)] = -1
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value != "<<":
                    if k.value in seen:
                        raise error(path, k.start_mark.line + 1,
                                    f"'{k.value}' is given twice (first on line {seen[k.value]})")
                    seen[k.value] = k.start_mark.line + 1
                total += size(k) + size(v)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v) for v in node.value)
        if total > MAX_NODES:
            raise error(path, node.start_mark.line + 1,
                        f"too large once its aliases are expanded (over {MAX_NODES:,} values)")
        sizes[id(node)] = total
        return total

    size(root)


def line_of(node: yaml.Node, path) -> int:
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
