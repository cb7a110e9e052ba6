"""Embedded classifier and Rasa side by side on the held-out file: accuracy, macro F1, and the
latency of one message at a time, as the worker asks (p50 / p99), in one run.

    scripts/nlu-ci .venv/bin/python bench/nlu.py          # starts Rasa, then runs this
    RASA_URL=http://127.0.0.1:5005 .venv/bin/python bench/nlu.py [--rounds 20] [--json]

Both backends are scored by what the service would act on: the intent after the confidence
thresholds of bot/nlu/defaults.py, an abstention counting as a miss. Embedded latency is
`Client.parse_embedded` (fold, features, scores, thresholds, entities); Rasa latency is the
client's POST /model/parse over local HTTP with its JSON decoded. Without RASA_URL only the
embedded column is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bot.nlu import data, defaults, embedded  # noqa: E402
from bot.nlu.client import Client  # noqa: E402
from bot.nlu.evaluation import evaluate  # noqa: E402


def latencies(fn, texts: list[str], rounds: int) -> dict:
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            fn(text)
            times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return {"n": len(times), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=defaults.HELDOUT)
    ap.add_argument("--rasa-url", default=os.environ.get("RASA_URL"))
    ap.add_argument("--rounds", type=int, default=20, help="passes over the file for latency")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    examples = data.load(args.data)
    texts = [e.text for e in examples]

    started = time.perf_counter()
    embedded.Classifier(data.load(defaults.DATA))  # cold: includes scipy's lazy imports
    cold = time.perf_counter() - started
    started = time.perf_counter()
    embedded.load()
    warm = time.perf_counter() - started
    results = {"embedded": {**evaluate(examples, lambda t: Client.parse_embedded(t).intent,
                                       "embedded"),
                            "latency": latencies(Client.parse_embedded, texts, args.rounds),
                            "train_s": round(warm, 3), "train_cold_s": round(cold, 3)}}
    if args.rasa_url:
        rasa = Client(args.rasa_url, None, timeout=10.0)
        rasa.parse_rasa("hello")  # a first request warms the connection and the model
        results["rasa"] = {**evaluate(examples, lambda t: rasa.parse_rasa(t).intent, "rasa"),
                           "latency": latencies(rasa.parse_rasa, texts, max(1, args.rounds // 4))}

    if args.json:
        for r in results.values():
            r.pop("errors", None)
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    print(f"held-out file: {args.data} ({len(examples)} messages, "
          f"{len({e.intent for e in examples})} intents)")
    print(f"embedded classifier trained from {defaults.DATA.name} in {warm * 1000:.0f} ms "
          f"({cold * 1000:.0f} ms for the first fit in a fresh process)\n")
    names = list(results)
    rows = [("accuracy", lambda r: f"{r['accuracy']:.3f}"),
            ("macro F1", lambda r: f"{r['macro_f1']:.3f}"),
            ("abstained", lambda r: str(r["abstained"])),
            ("wrong intents", lambda r: str(len(r["errors"]) - r["abstained"])),
            ("p50 latency", lambda r: f"{r['latency']['p50_ms']:.3f} ms"),
            ("p99 latency", lambda r: f"{r['latency']['p99_ms']:.3f} ms"),
            ("messages timed", lambda r: str(r["latency"]["n"]))]
    print(f"{'':<16}" + "".join(f"{n:>14}" for n in names))
    for label, fmt in rows:
        print(f"{label:<16}" + "".join(f"{fmt(results[n]):>14}" for n in names))
    if "rasa" not in results:
        print("\n(no RASA_URL: Rasa not measured; run under scripts/nlu-ci)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
