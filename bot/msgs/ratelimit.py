"""How fast one sender number may send: a rate shared by every worker, kept in Redis.

A GCRA ("generic cell rate algorithm") in one Lua script: Redis keeps, per sender, the
theoretical arrival time (TAT) of the next send. A caller reserves the next free slot and
is told how long to wait for it; slots are one emission interval (1 / rate) apart, on
Redis's own clock, so workers on different machines share one limit and no burst ever goes
beyond the rate (the burst tolerance is zero: at most one send per interval).

A caller that would wait longer than it may hold a person's turn reserves nothing and is
told how long the queue of slots is, so it can re-schedule the send instead of sleeping.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import redis

KEY = "sathi:rate:{}"  # one key per sender address (what `From` will be)
SLEEP_MAX = 2.0  # seconds a worker may sleep for its slot while holding a person's turn

_GCRA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat - now
if wait > max_wait then return {0, wait} end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.floor((wait + interval) / 1000) + 1000)
return {1, wait}
"""
"""KEYS[1]: the sender's key. ARGV: emission interval and longest acceptable wait, both in
microseconds. Returns {1, wait} when a slot `wait` µs from now is reserved, {0, wait} when
none is reserved because the next free slot is `wait` µs away."""


@dataclass(frozen=True)
class Slot:
    reserved: bool
    wait: float  # seconds until the slot (reserved) or until the next free one (not)


class SenderRate:
    """Messages per second per sender, enforced across processes through one Redis."""

    def __init__(self, conn: redis.Redis):
        self._script = conn.register_script(_GCRA)

    def reserve(self, sender: str, rate: float, max_wait: float = SLEEP_MAX) -> Slot:
        """Reserve the sender's next slot if it is at most `max_wait` seconds away."""
        if rate <= 0:  # no limit configured
            return Slot(True, 0.0)
        interval = round(1_000_000 / rate)
        ok, wait = self._script(keys=[KEY.format(sender)],
                                args=[interval, round(max_wait * 1_000_000)])
        return Slot(bool(ok), int(wait) / 1_000_000)

    def wait_for(self, sender: str, rate: float, max_wait: float = SLEEP_MAX) -> float | None:
        """Sleep until the sender's next slot and return None; or, when that is more than
        `max_wait` away, return the seconds to re-schedule by without sleeping."""
        slot = self.reserve(sender, rate, max_wait)
        if not slot.reserved:
            return slot.wait
        if slot.wait > 0:
            time.sleep(slot.wait)
        return None
