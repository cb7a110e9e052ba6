"""The modules and activities as a spreadsheet the programme team fills in (CSV, UTF-8).

One row per text, the three languages side by side, so a translator reads across:

    id,module,grade,levels,video,field,bn,en,bn-Latn
    1,1,,,,title,গণনা,Counting,Gonona
    1.1,1,1 2,0,,title,পাথর গুনি,Counting stones,Pathor guni
    1.1,,,,,description,দুজনের খেলা: ...,In pairs: ...,Dujoner khela: ...

`id` is a module number ("3") or an activity ("3.2"); `field` is a module's `title`, or an
activity's `title`, `description`, `materials` or `try_it`. An activity's `module` (optional:
its id says it), `grade` (the class grades it suits: "1 2"), `levels` (the assessment levels of
a class it suits: "0 1", or "0-2") and `video` (optional: the AGS module whose video on
Muktopaath shows it) are given on one of its rows, or on several that agree. Either digit script
is fine. Empty lines are skipped.

`export` writes the content as such a file; `read` turns one back into modules, checked row by
row and then by the same schema and lint as modules.yaml, every problem as 'FILE:LINE: reason'
with the spreadsheet's own line; `write_yaml` renders them as modules.yaml. `sathi content
import` changes nothing unless every row is good.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from ..i18n import LANGUAGES, ascii_digits
from ..schemas import schema_problem
from .content import ACTIVITY_FIELDS, SCHEMA_PATH, Activity, Module

COLUMNS = ("id", "module", "grade", "levels", "video", "field", *LANGUAGES)
TAGS = ("module", "grade", "levels", "video")  # an activity's columns beside its texts
_MODULE_ID = re.compile(r"^[1-9][0-9]?$")
_ACTIVITY_ID = re.compile(r"^([1-9][0-9]?)\.[1-9][0-9]?$")
_NUMBERS = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*[,;\s]\s*\d+(\s*-\s*\d+)?)*\s*$")


@dataclass
class Sheet:
    """What a spreadsheet holds, read; `problems` empty when every row is good."""
    modules: list[Module] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def export(modules: list[Module], out: IO[str]) -> int:
    """Write the modules as the spreadsheet; returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for m in modules:
        writer.writerow([m.id, m.id, "", "", "", "title", *(m.title.get(lg, "")
                                                             for lg in LANGUAGES)])
        rows += 1
        for a in m.activities:
            for i, name in enumerate(ACTIVITY_FIELDS):
                tags = ([a.module, " ".join(map(str, a.grades)), " ".join(map(str, a.levels)),
                         a.video or ""] if i == 0 else ["", "", "", ""])
                texts = getattr(a, name)
                writer.writerow([a.id, *tags, name, *(texts.get(lg, "") for lg in LANGUAGES)])
                rows += 1
    return rows


def _numbers(value: str) -> list[int] | None:
    """ "1 2", "১, ২", "0-2" -> [1, 2], [1, 2], [0, 1, 2]; None when it is not such a list."""
    value = ascii_digits(value)
    if not _NUMBERS.match(value):
        return None
    found: list[int] = []
    for part in re.split(r"[,;\s]+", re.sub(r"\s*-\s*", "-", value.strip())):
        low, _, high = part.partition("-")
        found.extend(range(int(low), int(high or low) + 1))
    return sorted(set(found))


def read(path: Path | str) -> Sheet:
    """Read a spreadsheet into modules; every problem is 'FILE:LINE: reason'."""
    path = str(path)
    sheet = Sheet()

    def problem(line, reason):
        sheet.problems.append(f"{path}:{line}: {reason}")

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        problem(1, f"cannot be read as UTF-8 text: {e}")
        return sheet
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        problem(1, f"missing columns: {', '.join(missing)} (the columns are "
                   f"{','.join(COLUMNS)})")
        return sheet
    titles: dict[int, tuple[dict, int]] = {}  # module -> (title, line)
    acts: dict[str, dict] = {}  # activity id -> {"texts": {field: (texts, line)}, tags, line}
    seen: dict[tuple[str, str], int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:  # a field over the csv module's limit, a broken quote
            problem(reader.line_num, f"not a readable CSV row: {e}")
            return sheet
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        rid, name = ascii_digits(row["id"]), row["field"]
        texts = {lg: row[lg] for lg in LANGUAGES if row[lg]}
        if (rid, name) in seen:
            problem(line, f"{rid} {name} is also on line {seen[rid, name]}")
            continue
        seen[rid, name] = line
        if _MODULE_ID.match(rid):
            if name != "title":
                problem(line, f"module {rid} has only a title, not '{name}'")
            elif any(row[t] for t in ("grade", "levels", "video")):
                problem(line, f"module {rid}: grade, levels and video belong to its activities")
            elif row["module"] and ascii_digits(row["module"]) != rid:
                problem(line, f"module {rid} is given module {row['module']}")
            else:
                titles[int(rid)] = (texts, line)
            continue
        m = _ACTIVITY_ID.match(rid)
        if not m:
            problem(line, f"id {row['id']!r} is neither a module (3) nor an activity (3.2)")
            continue
        if name not in ACTIVITY_FIELDS:
            problem(line, f"field {name!r} is not one of {', '.join(ACTIVITY_FIELDS)}")
            continue
        act = acts.setdefault(rid, {"texts": {}, "tags": {}, "line": line,
                                    "module": int(m.group(1))})
        act["texts"][name] = (texts, line)
        for tag in TAGS:
            if not row[tag]:
                continue
            value = _numbers(row[tag])
            if value is None or (tag in ("module", "video") and len(value) != 1):
                problem(line, f"{tag} {row[tag]!r} is not "
                              f"{'a number' if tag in ('module', 'video') else 'a list of numbers'}")
                continue
            value = value[0] if tag in ("module", "video") else value
            if tag == "module" and value != act["module"]:
                problem(line, f"activity {rid} is in module {act['module']}: its id says so, "
                              f"not module {value}")
            earlier = act["tags"].setdefault(tag, (value, line))
            if earlier[0] != value:
                problem(line, f"activity {rid}: {tag} {row[tag]!r} disagrees with line "
                              f"{earlier[1]}")
    if sheet.problems:
        return sheet
    for rid, act in acts.items():
        for name in ACTIVITY_FIELDS:
            if name not in act["texts"]:
                problem(act["line"], f"activity {rid} has no {name} row")
        for tag in ("grade", "levels"):
            if tag not in act["tags"]:
                problem(act["line"], f"activity {rid} has no {tag}: give it on one of its rows")
        if act["module"] not in titles:
            problem(act["line"], f"activity {rid} is in module {act['module']}, which has no "
                                 f"title row")
    for mid, (_, line) in titles.items():
        if not any(a["module"] == mid for a in acts.values()):
            problem(line, f"module {mid} has no activities")
    if sheet.problems:
        return sheet
    data = {"modules": [
        {"id": mid, "title": titles[mid][0], "activities": [
            {"id": rid, "grades": act["tags"]["grade"][0], "levels": act["tags"]["levels"][0],
             **({"video": act["tags"]["video"][0]} if "video" in act["tags"] else {}),
             **{name: act["texts"][name][0] for name in ACTIVITY_FIELDS}}
            for rid, act in sorted(acts.items(), key=lambda kv: _order(kv[0]))
            if act["module"] == mid]}
        for mid in sorted(titles)]}
    found = schema_problem(SCHEMA_PATH, data)
    if found:
        where, reason = found
        problem(_line_of(where, data, titles, acts), reason)
        return sheet
    sheet.modules = [Module(m["id"], m["title"], tuple(
        Activity(a["id"], m["id"], *(a[name] for name in ACTIVITY_FIELDS),
                 grades=tuple(a["grades"]), levels=tuple(a["levels"]), video=a.get("video"),
                 path=path, lines={"": acts[a["id"]]["line"],
                                   **{n: acts[a["id"]]["texts"][n][1] for n in ACTIVITY_FIELDS}})
        for a in m["activities"]), path, titles[m["id"]][1]) for m in data["modules"]]
    return sheet


def _order(activity_id: str) -> tuple[int, int]:
    module, number = activity_id.split(".")
    return int(module), int(number)


def _line_of(where: list, data: dict, titles: dict, acts: dict) -> int:
    """The spreadsheet line a schema error's path points at."""
    if len(where) < 2:
        return 1
    module = data["modules"][where[1]]
    if len(where) >= 4 and where[2] == "activities":
        act = acts[module["activities"][where[3]]["id"]]
        if len(where) >= 5 and where[4] in act["texts"]:
            return act["texts"][where[4]][1]
        return act["line"]
    return titles[module["id"]][1]


HEADER = """\
# The modules and classroom activities, imported from {source} with `sathi content import`.
# Check it with `sathi content lint`; edit the spreadsheet and import it again, or edit this file.
# (Columns and rules: bot/campaigns/spreadsheet.py; the README's "Content" section.)
"""


def write_yaml(modules: list[Module], source: str, draft: str | None = None) -> str:
    """modules.yaml's text for these modules; with `draft`, marked as a draft of our own."""
    data: dict = {}
    if draft:
        data["draft"] = draft
    data["modules"] = [{
        "id": m.id, "title": dict(m.title),
        "activities": [{"id": a.id, "grades": list(a.grades), "levels": list(a.levels),
                        **({"video": a.video} if a.video else {}),
                        **{name: dict(getattr(a, name)) for name in ACTIVITY_FIELDS}}
                       for a in m.activities]} for m in modules]
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     width=10_000, default_flow_style=False)
    return HEADER.format(source=Path(source).name) + body


class _Dumper(yaml.SafeDumper):
    """Texts one language a line; grades and levels on one line, as modules.yaml has them."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=all(isinstance(x, int) for x in data)))
