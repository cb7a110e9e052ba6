"""Counters and a latency histogram shared by every process, kept in Redis, read by /metrics.

RQ forks a process per job and the service runs on several machines, so a counter in one
process's memory would be lost with the process or seen only in part. Each event is instead an
HINCRBY on one Redis hash, in the same round trip as the Redis work it goes with wherever
there is one; /metrics reads the hash at once and prometheus-client writes it out in the
Prometheus text format. The series are the service's as a whole: every web host serves the
same numbers (docs/deploy.md says how to scrape them). Counting never fails the work it counts.

Imports nothing from the project.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

log = logging.getLogger(__name__)

KEY = "sathi:metrics"  # one Redis hash: "name|label=value,label=value" -> count or sum

COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sathi_messages_in": (
        "Inbound messages by channel and what the webhook did with them: recorded, "
        "duplicate, spooled (database down), dead (could never be recorded), rejected "
        "(malformed), throttled (a flood or a reply loop)", ("channel", "status")),
    "sathi_messages_out": (
        "Outbound messages by channel and status: each send's outcome (sent, failed, "
        "suppressed, unknown), follow-ups cancelled (the original arrived after all) and "
        "each status the provider reported (delivered, read, "
        "undelivered...)", ("channel", "status")),
    "sathi_send_retries": (
        "Sends put off to try again, by channel and reason: provider (429, 5xx, network), "
        "rate (the sender's own rate), reconcile (an unknown outcome looked up again)",
        ("channel", "reason")),
    "sathi_status_callbacks": (
        "Provider status callbacks by what became of them: applied, early (before the send "
        "stored the sid), spooled, rejected", ("status",)),
}
HISTOGRAMS: dict[str, tuple[str, tuple[str, ...], tuple[float, ...]]] = {
    "sathi_send_seconds": (
        "Seconds one provider call to send a message took, by channel", ("channel",),
        (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)),
}


def _field(name: str, labels: dict[str, str]) -> str:
    return name + "|" + ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def count(pipe, name: str, n: int = 1, **labels: str) -> None:
    """Add to a counter, in `pipe` (a Redis pipeline or client)."""
    pipe.hincrby(KEY, _field(name, labels), n)


def observe(pipe, name: str, value: float, **labels: str) -> None:
    """Add one observation to a histogram, in `pipe`."""
    buckets = HISTOGRAMS[name][2]
    le = next((str(b) for b in buckets if value <= b), "+Inf")
    pipe.hincrby(KEY, _field(name + "_bucket", {**labels, "le": le}), 1)
    pipe.hincrbyfloat(KEY, _field(name + "_sum", labels), value)
    pipe.hincrby(KEY, _field(name + "_count", labels), 1)


def record(conn, write: Callable[[object], None]) -> None:
    """Run `write(pipe)` in a pipeline of its own, and never let a Redis failure through."""
    try:
        pipe = conn.pipeline(transaction=False)
        write(pipe)
        pipe.execute()
    except Exception:  # metrics are worth less than the work they count
        log.debug("metrics not recorded", exc_info=True)


def _parse(field: bytes) -> tuple[str, dict[str, str]]:
    name, _, labels = field.decode().partition("|")
    return name, dict(pair.split("=", 1) for pair in labels.split(",") if pair)


def families(conn) -> list:
    """The counters and histograms as prometheus-client metric families, read from Redis."""
    raw = conn.hgetall(KEY)
    values: dict[str, list[tuple[dict[str, str], float]]] = {}
    for field, value in raw.items():
        name, labels = _parse(field)
        values.setdefault(name, []).append((labels, float(value)))
    out = []
    for name, (doc, label_names) in COUNTERS.items():
        fam = CounterMetricFamily(name, doc, labels=label_names)
        for labels, value in sorted(values.get(name, []), key=lambda lv: sorted(lv[0].items())):
            fam.add_metric([labels.get(k, "") for k in label_names], value)
        out.append(fam)
    for name, (doc, label_names, buckets) in HISTOGRAMS.items():
        fam = HistogramMetricFamily(name, doc, labels=label_names)
        series: dict[tuple, dict] = {}
        for suffix in ("_bucket", "_sum", "_count"):
            for labels, value in values.get(name + suffix, []):
                key = tuple(labels.get(k, "") for k in label_names)
                s = series.setdefault(key, {"buckets": {}, "sum": 0.0})
                if suffix == "_bucket":
                    s["buckets"][labels["le"]] = value
                elif suffix == "_sum":
                    s["sum"] = value
        for key, s in sorted(series.items()):
            running, cumulative = 0.0, []
            for le in [str(b) for b in buckets] + ["+Inf"]:
                running += s["buckets"].get(le, 0.0)
                cumulative.append((le, running))
            fam.add_metric(list(key), cumulative, s["sum"])
        out.append(fam)
    return out
