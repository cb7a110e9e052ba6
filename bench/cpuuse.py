"""Where a measured stretch's CPU went, by role: the web server, the workers, PostgreSQL,
Redis and everything else on the machine (the bench itself, the Twilio double, wrk, the load
generator), and how much of the machine stayed idle. Read from /proc (Linux), before and after.

A throughput that is bound by the machine's CPU leaves little idle; one bound by waiting (a
worker blocked on its database and HTTP round trips) leaves idle cores however fast the code is.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

ROLES = ("gunicorn", "workers", "postgres", "redis", "rest")
_HZ = os.sysconf("SC_CLK_TCK")


def _role(cmdline: bytes) -> str:
    if b"gunicorn" in cmdline:
        return "gunicorn"
    if b"sathi\x00worker" in cmdline or b"sathi worker" in cmdline:
        return "workers"
    if cmdline.startswith(b"postgres") or b"/postgres" in cmdline:
        return "postgres"
    if b"redis-server" in cmdline:
        return "redis"
    return "rest"


def _ticks() -> tuple[dict[int, tuple[str, int]], int, int]:
    """Each process's (role, CPU ticks so far), and the machine's busy and idle ticks."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # utime, stime, and those of its children it has waited for (wrk, once it ends, is
        # in the bench's), so a process that ran and ended inside the stretch still counts
        procs[int(name)] = (_role(cmd), sum(int(x) for x in fields[11:15]))
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]  # idle + iowait
    return procs, sum(cpu[:8]) - idle, idle


@dataclass
class Use:
    """CPU seconds by role over a stretch, and the machine's idle and total ticks in it."""
    seconds: Counter
    idle: int
    total: int

    @property
    def idle_share(self) -> float:
        return self.idle / self.total if self.total else 0.0

    def __add__(self, other: "Use") -> "Use":
        return Use(self.seconds + other.seconds, self.idle + other.idle, self.total + other.total)

    def line(self, per: int, unit: str) -> str:
        """'gunicorn 1.24 ms · postgres 0.29 ms · … per <unit>; machine idle 4 %'."""
        parts = [f"{r} {1000 * self.seconds[r] / per:.2f} ms" for r in ROLES if self.seconds[r]]
        total = 1000 * sum(self.seconds.values()) / per
        return (f"CPU per {unit}: " + " · ".join(parts) + f" (all {total:.2f} ms); "
                f"machine idle {self.idle_share:.0%}")


class Meter:
    """`with Meter() as m: ...` then `m.use`: the CPU each role spent inside the block; or
    `m = Meter().start()` ... `m.stop()` around a stretch that is not one block."""

    def start(self) -> "Meter":
        self._start = _ticks()
        return self

    def __enter__(self) -> "Meter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> Use:
        before, busy0, idle0 = self._start
        after, busy1, idle1 = _ticks()
        spent: Counter = Counter()
        for pid, (role, ticks) in after.items():
            was = before.get(pid)
            if was is not None and was[0] == role:
                spent[role] += ticks - was[1]
            else:  # started inside the block (or exec'd another program): counts whole
                spent[role] += ticks
        # a process that ended inside the block counts once its parent waited for it
        seconds = Counter({r: t / _HZ for r, t in spent.items() if t > 0})
        self.use = Use(seconds, idle1 - idle0, (busy1 - busy0) + (idle1 - idle0))
        return self.use
