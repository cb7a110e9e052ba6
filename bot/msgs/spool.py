"""When the database (or, for a status report, Redis) is down, what a webhook took waits on the
web host's disk, never dropped, and is recorded when storage is back.

`take` is what every webhook calls (Twilio's; a local SMS gateway's too) once intake.py has
checked its input: it records the message or status report, or keeps it. The spool-or-reject
decision is `storage_down`: only a connection-level failure (refused, reset, timed out,
cancelled) spools; anything else is a fault of the item itself and it goes to the dead-letter
folder, logged, for a human. Twilio does not retry a failed messaging webhook, so answering
500 would lose the message; the webhook answers 200 either way.

Layout, under instance/spool/: `in/` (inbound messages) and `status/` (status reports), each a
queue of JSON files named by arrival time (fsynced, then renamed into place), and `dead/`.
Each queue is replayed in arrival order, and while a queue holds anything a new item goes
behind it instead of straight to the database, so a person's "2" then "1" stays "2" then "1".
A replayed message keeps the time it arrived.

The spool is on the web host's own disk, and the web process replays it itself: a `Replayer`
thread in every web process (one at a time per host, by a file lock), started by the app on
its first request. No RQ job replays it, because a worker may run on another machine.
`sathi spool replay` does the same by hand (e.g. before a web host is retired).
"""
from __future__ import annotations

from dataclasses import replace

import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import exc as sa_exc

from .. import metrics, runtime
from ..logs import mask
from . import inbound, intake, outbox

log = logging.getLogger(__name__)

WEBHOOK_DEADLINE = 3.0  # seconds a webhook waits on the database before it spools (Twilio
# gives up after 15 s); connecting counts too (store.db.CONNECT_TIMEOUT)
REPLAY_DEADLINE = 5.0  # seconds one replayed item may wait on the database
REPLAY_EVERY = 5.0  # seconds between the web process's looks at its spool
IN, STATUS = "in", "status"  # the two queues, replayed in this order
DEAD = "dead"
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_made: dict[tuple[Path, str], Path] = {}  # (instance folder, queue) -> the folder, made
SETTLED_NS = 2_000_000_000  # a folder's mtime this old (ns) can be trusted to change with
# the folder (older than any file system's timestamp granularity: FAT's is 2 s)
_empty_at: dict[Path, int] = {}  # a queue's folder -> its mtime when it was last seen empty


def directory() -> Path:
    """This host's spool (instance/spool), made if need be."""
    return _dir("")


def _dir(name: str) -> Path:
    """A folder of the spool, made if need be (once per process: the webhook asks for its
    queue's folder with every message)."""
    instance = runtime.current().settings.instance_dir
    path = _made.get((instance, name))
    if path is None:
        path = instance / "spool" / name
        path.mkdir(parents=True, exist_ok=True)
        _made[instance, name] = path
    return path


def storage_down(exc: BaseException) -> bool:
    """The spool-or-reject decision: True when `exc` says the database or Redis cannot be
    reached now (so the item is kept and tried again), False when the item itself is at
    fault (it would fail the same way every time)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                        sa_exc.DisconnectionError, redis.ConnectionError, redis.TimeoutError)):
        return True
    return bool(getattr(exc, "connection_invalidated", False))


def take(item: inbound.Incoming | intake.StatusReport) -> str:
    """Record `item` now, or keep it: "recorded", "duplicate", "spooled" or "dead". Never
    raises for trouble with storage, so the webhook can always answer."""
    kind = _kind(item)
    if pending(kind):  # others wait in the spool: this one goes behind them
        _write(item)
        return "spooled"
    try:
        return _record(item, WEBHOOK_DEADLINE)
    except Exception as exc:
        if storage_down(exc):
            _write(item)
            return "spooled"
        _bury(item, exc)
        return "dead"


def _kind(item) -> str:
    return IN if isinstance(item, inbound.Incoming) else STATUS


def _record(item, deadline: float, replaying: bool = False) -> str:
    if isinstance(item, inbound.Incoming):
        return ("recorded" if inbound.accept(item, deadline=deadline, replaying=replaying)
                else "duplicate")
    outbox.apply_report(item, deadline=deadline)
    return "recorded"


def pending(kind: str = IN) -> bool:
    """True when the queue holds anything (cheap: it stops at the first file).

    Every webhook asks, so a queue seen empty is remembered with its folder's mtime, and while
    the mtime is the same the folder is not read again: adding, renaming or removing a file in
    it (this process, another web process, an operator) changes the folder's mtime. Only an
    mtime older than SETTLED_NS is remembered: a file made within the same timestamp tick as
    the last change would leave a newer one unchanged."""
    path = _dir(kind)
    try:
        mtime = os.stat(path).st_mtime_ns
        if _empty_at.get(path) == mtime:
            return False
        with os.scandir(path) as it:
            found = any(e.name.endswith(".json") for e in it)
    except FileNotFoundError:  # removed by hand while we ran: made again on the next write
        for key in [k for k, v in _made.items() if v in (path, path.parent)]:
            del _made[key]
        _empty_at.pop(path, None)
        return False
    if found:
        _empty_at.pop(path, None)
    elif time.time_ns() - mtime > SETTLED_NS:
        _empty_at[path] = mtime
    return found


def files(kind: str) -> list[Path]:
    """The queue in arrival order (an older version's files, in the spool's top folder,
    came before any of these and go first)."""
    legacy = sorted(directory().glob("*.json")) if kind == IN else []
    return legacy + sorted(_dir(kind).glob("*.json"))


def size() -> dict[str, int]:
    """Files waiting and files set aside, on this host."""
    return {"pending": len(files(IN)) + len(files(STATUS)),
            "dead": len(list(_dir(DEAD).glob("*.json")))}


def _to_json(item) -> dict:
    if isinstance(item, inbound.Incoming):
        return item.to_json()
    return {"sid": item.sid, "status": item.status, "error_code": item.error_code,
            "received_at": item.received_at.isoformat() if item.received_at else None,
            "ref": item.ref}


def _from_json(kind: str, data: dict):
    """Read a spooled item back, checked again as intake checks it (a file written by an older
    version, or edited by hand, gets no easier ride than a webhook)."""
    if kind == IN:
        inc = inbound.Incoming.from_json(data)
        checked = intake.incoming(sid=inc.sid, body=inc.body, received_at=inc.received_at,
                                  sender_address=("whatsapp:" if inc.channel == "whatsapp"
                                                  else "") + inc.sender,
                                  media_items=intake.media([(m.url, m.type) for m in inc.media]))
        return replace(checked, provider=inc.provider)  # the channel it came in on, kept
    from datetime import datetime

    at = data.get("received_at")
    return intake.status_report(sid=data["sid"], status=data["status"],
                                code=str(data["error_code"]) if data.get("error_code") is not None
                                else None,
                                received_at=datetime.fromisoformat(at) if at else None,
                                ref=data.get("ref"))


def _name(item) -> str:
    """What names an item's file after its arrival time: the provider's id, readable (folded
    to safe characters and cut), then a digest of the exact id, so two ids that fold alike
    ("a.b", "a_b") or where one ends another ("x-local:9", "local:9") are never taken for one.
    A status report is one per (id, status): "sent" then "undelivered" are two reports."""
    key = item.sid if isinstance(item, inbound.Incoming) else f"{item.sid}\n{item.status}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{_SAFE.sub('_', item.sid)[:48]}-{digest}"


def _write(item) -> Path:
    """Durably keep one item on local disk, at the end of its queue."""
    kind = _kind(item)
    d = _dir(kind)
    key = _name(item)
    for earlier in d.glob(f"*-{key}.json"):  # a provider's retry: the first keeps its place
        return earlier
    name = f"{time.time_ns():020d}-{key}"
    tmp = d / f".{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_to_json(item), f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    path = d / f"{name}.json"
    os.replace(tmp, path)
    if kind == IN:
        log.warning("storage unavailable: spooled %s from %s", item.sid, mask(item.sender))
    else:
        log.warning("storage unavailable: spooled status %s of %s", item.status, item.sid)
    _count(kind, "spooled", getattr(item, "channel", None))
    return path


def _bury(item_or_path, exc: BaseException | str) -> None:
    """Set aside, for a human, what can never be recorded; log why (never the body)."""
    why = exc if isinstance(exc, str) else type(exc).__name__
    dead = _dir(DEAD)
    if isinstance(item_or_path, Path):
        target = dead / item_or_path.name
        os.replace(item_or_path, target)
        kind = IN if item_or_path.parent != _dir(STATUS) else STATUS
        channel = None
    else:
        kind = _kind(item_or_path)
        channel = getattr(item_or_path, "channel", None)
        target = dead / f"{time.time_ns():020d}-{_name(item_or_path)}.json"
        target.write_text(json.dumps(_to_json(item_or_path), ensure_ascii=False),
                          encoding="utf-8")
    log.error("spool: %s can never be recorded (%s); kept in %s for a human", target.name,
              why, dead)
    _count(kind, "dead", channel)


def _count(kind: str, status: str, channel: str | None) -> None:
    try:
        conn = runtime.current().redis
    except Exception:
        return
    if kind == IN:
        metrics.record(conn, lambda p: metrics.count(p, "sathi_messages_in",
                                                     channel=channel or "unknown", status=status))
    else:
        metrics.record(conn, lambda p: metrics.count(p, "sathi_status_callbacks", status=status))


@contextmanager
def _host_lock():
    """One replayer at a time on this host (the web processes share the spool folder)."""
    with open(directory() / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def replay() -> int:
    """Record what the spool holds, queue by queue, in arrival order; returns how many were
    recorded (duplicates included). An item that can never be recorded goes to dead/ and the
    replay goes on; while storage is still down the queue stops there, so the order holds."""
    _dir(IN)
    done = 0
    with _host_lock() as mine:
        if not mine:
            return 0  # another process on this host is replaying
        for kind in (IN, STATUS):
            for path in files(kind):
                try:
                    item = _from_json(kind, json.loads(path.read_text(encoding="utf-8")))
                except FileNotFoundError:
                    continue
                except (ValueError, TypeError, KeyError) as exc:  # intake.Rejected included
                    _bury(path, f"unreadable: {type(exc).__name__}")
                    continue
                try:
                    _record(item, REPLAY_DEADLINE, replaying=True)
                except Exception as exc:
                    if storage_down(exc):
                        log.info("spool: storage still unavailable (%s); %s waits",
                                 type(exc).__name__, path.name)
                        break  # the rest of this queue waits behind it
                    _bury(path, exc)
                    continue
                path.unlink(missing_ok=True)
                done += 1
    if done:
        log.info("spool: %s replayed", done)
    return done


def retry_dead() -> int:
    """Move the dead letters back into their queues (an operator's `sathi spool retry-dead`,
    after fixing what stopped them); returns how many."""
    n = 0
    for path in sorted(_dir(DEAD).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # unreadable: it stays for a human
        kind = STATUS if "status" in data and "body" not in data else IN
        os.replace(path, _dir(kind) / path.name)
        n += 1
    return n


class Replayer:
    """A thread that replays this host's spool every `interval` seconds while it holds
    anything (the web process's own cron entry)."""

    def __init__(self, interval: float = REPLAY_EVERY):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spool-replayer", daemon=True)

    def start(self) -> "Replayer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + REPLAY_DEADLINE + 5)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if pending(IN) or pending(STATUS) or list(directory().glob("*.json")):
                    replay()
            except Exception:  # never let the thread die; the next round tries again
                log.exception("spool replay failed; trying again in %s s", self.interval)


_replayer: Replayer | None = None
_replayer_pid: int | None = None
_replayer_lock = threading.Lock()


def ensure_replayer() -> None:
    """Start this process's replayer once (again in a forked child: threads do not fork)."""
    global _replayer, _replayer_pid
    if _replayer_pid == os.getpid() and _replayer is not None:
        return
    with _replayer_lock:
        if _replayer_pid != os.getpid() or _replayer is None:
            _replayer, _replayer_pid = Replayer().start(), os.getpid()


def replayer_started() -> bool:
    """This process has started its replayer (cheap: asked before every request)."""
    return _replayer_pid == os.getpid() and _replayer is not None


def replayer_running() -> bool:
    return replayer_started() and _replayer.alive()


def stop_replayer() -> None:
    global _replayer, _replayer_pid
    with _replayer_lock:
        if _replayer is not None and _replayer_pid == os.getpid():
            _replayer.stop()
        _replayer, _replayer_pid = None, None
