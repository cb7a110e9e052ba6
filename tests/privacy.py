"""The privacy scan: the logs of a whole test run must hold no phone number, no message body
and no token (conftest.py runs it when the session ends and fails the run on a leak).

The logs are what production writes: every record of the test process at INFO and above,
through the service's own formatter (bot.logs.setup), and the output of every service process
a test started (tests/processes.py). A body counts wherever it appears, inside an SQL error's
traceback too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# whole phone numbers: Bangladeshi mobiles in any usual writing, and any E.164 number
# (bounded by anything but a letter or digit, so a hex id that holds a run of digits is no phone)
PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?880|0)1[3-9]\d{8}(?![0-9A-Za-z])"
                   r"|(?<![0-9A-Za-z])\+[1-9]\d{9,14}(?![0-9A-Za-z])")
MIN_BODY = 12  # characters; shorter bodies ("hi", "assess", "WhatsApp") are words a log line
# may hold by chance (a migration's description, a keyword)


@dataclass(frozen=True)
class Leak:
    path: str
    line: int
    what: str  # "phone" | "body" | "token"
    sample: str  # masked, so the report is no leak itself


def _masked(s: str) -> str:
    return s[:3] + "…" + s[-2:] if len(s) > 6 else "…"


def scan(paths: list[Path], bodies: set[str], tokens: set[str]) -> list[Leak]:
    wanted = sorted((b for b in bodies if len(b.strip()) >= MIN_BODY), key=len, reverse=True)
    leaks = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for n, line in enumerate(lines, 1):
            for m in PHONE.finditer(line):
                leaks.append(Leak(str(path), n, "phone", _masked(m.group())))
            for token in tokens:
                if token and token in line:
                    leaks.append(Leak(str(path), n, "token", _masked(token)))
            for body in wanted:
                if body in line:
                    leaks.append(Leak(str(path), n, "body", _masked(body)))
                    break
    return leaks
