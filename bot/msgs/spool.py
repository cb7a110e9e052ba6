"""When the database is down, inbound messages are spooled to disk, never dropped.

The webhook writes the message as JSON (fsynced, named by its provider sid, so a retry
overwrites rather than duplicates) and answers 200; the cron job `replay` records and enqueues
spooled messages once the database is back. Twilio does not retry a failed messaging webhook,
so answering 500 would lose the message. The spool is on the web host's disk: a host that
serves webhooks must share instance/spool with a `sathi cron` (one host, or a shared volume).
"""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict
from pathlib import Path

from .. import runtime
from ..logs import mask
from . import inbound

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def directory() -> Path:
    path = runtime.current().settings.instance_dir / "spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write(inc: inbound.Incoming) -> Path:
    """Durably keep one inbound message on local disk."""
    d = directory()
    path = d / f"{_SAFE.sub('_', inc.sid)}.json"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(asdict(inc), f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    log.warning("database unavailable: spooled %s from %s", inc.sid, mask(inc.sender))
    return path


def replay() -> int:
    """RQ cron job: record and enqueue every spooled message. Returns how many were replayed."""
    done = 0
    for path in sorted(directory().glob("*.json")):
        try:
            inc = inbound.Incoming(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:  # another scheduler replayed it first
            continue
        except (ValueError, TypeError):
            log.error("spool file %s is unreadable; moved aside for a human", path.name)
            path.rename(path.with_suffix(".bad"))
            continue
        inbound.accept(inc)  # raises while the database is still down: the file stays
        path.unlink(missing_ok=True)
        done += 1
    return done
