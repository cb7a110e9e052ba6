"""Abuse: one sender's flood of messages, and an auto-reply loop with another bot.

Both are counted in Redis per sender address, in fixed windows of the service's clock (one
round trip per message in, one per turn with replies), the way RapidPro's mailroom counts
repeated messages to a contact:

- **Flood**: more than FLOOD_LIMIT messages from one address within a FLOOD_WINDOW. The rest
  of that window's messages are recorded (status `throttled`) and not acted on; the first of
  them gets one polite "please write again in a minute".
- **Loop**: the same reply (message key) to one address LOOP_REPEATS times within a
  LOOP_WINDOW, as when another service's auto-reply answers ours and ours answers it. The
  address is then muted for MUTE seconds: its messages are recorded and not answered, after
  one notice that says so.

STOP is always honoured, flood or loop (the caller checks the keyword first).
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import redis

from ..logs import mask

log = logging.getLogger(__name__)

FLOOD_LIMIT = 20  # messages from one sender acted on per window; a person types far fewer
FLOOD_WINDOW = 60  # seconds
LOOP_REPEATS = 10  # the same reply to one address this often per window is a loop
LOOP_WINDOW = 600  # seconds
MUTE = 1800  # seconds an address in a reply loop goes unanswered (common.paused says "half an hour")

_FLOOD = "sathi:flood:{}:{}"  # address, window number: messages counted
_REPEATS = "sathi:repeats:{}:{}"  # address, window number: hash of reply key -> count
_MUTED = "sathi:muted:{}"  # address: until when (a Unix time on the service's clock)


@dataclass(frozen=True)
class Verdict:
    act: bool  # False: record the message, do not act on it
    tell: bool = False  # True for the first message held back: say why, once
    why: str = ""  # "flood" | "loop"


OK = Verdict(act=True)


def _window(now: datetime, seconds: int) -> int:
    return int(now.timestamp()) // seconds


def check_inbound(r: redis.Redis, address: str, now: datetime) -> Verdict:
    """Count one message from `address` and say whether to act on it."""
    flood_key = _FLOOD.format(address, _window(now, FLOOD_WINDOW))
    pipe = r.pipeline(transaction=False)
    pipe.incr(flood_key)
    pipe.expire(flood_key, FLOOD_WINDOW * 2)
    pipe.get(_MUTED.format(address))
    count, _, muted_until = pipe.execute()
    if muted_until is not None and int(muted_until) > now.timestamp():
        return Verdict(act=False, why="loop")
    if count > FLOOD_LIMIT:
        if count == FLOOD_LIMIT + 1:
            log.warning("flood from %s: more than %s messages in %s s; the rest of the minute "
                        "is recorded, not answered", mask(address), FLOOD_LIMIT, FLOOD_WINDOW)
        return Verdict(act=False, tell=count == FLOOD_LIMIT + 1, why="flood")
    return OK


def note_replies(r: redis.Redis, address: str, keys: list[str], now: datetime) -> bool:
    """Count replies about to go to `address`; True when they make a loop, which mutes it
    (True once per mute, so the caller says so once)."""
    if not keys:
        return False
    repeats_key = _REPEATS.format(address, _window(now, LOOP_WINDOW))
    pipe = r.pipeline(transaction=False)
    for key, n in Counter(keys).items():
        pipe.hincrby(repeats_key, key, n)
    pipe.expire(repeats_key, LOOP_WINDOW * 2)
    counts = pipe.execute()[:-1]
    if max(counts) < LOOP_REPEATS:
        return False
    key, until = _MUTED.format(address), int(now.timestamp()) + MUTE
    current = r.get(key)
    if current is not None and int(current) > now.timestamp():
        return False  # muted already
    r.set(key, until, ex=MUTE * 2)
    log.warning("reply loop with %s: the same reply %s times in %s s; not answering for %s s",
                mask(address), max(counts), LOOP_WINDOW, MUTE)
    return True
