"""Embedded classifier and Rasa side by side on the evaluation files, in one run: macro F1,
accuracy, abstentions and wrong intents per file, and the latency of one message at a time, as
the worker asks (p50 / p99); then the obstacle coder on its own blind set.

    scripts/nlu-ci .venv/bin/python bench/nlu.py          # starts Rasa, then runs this
    RASA_URL=http://127.0.0.1:5005 .venv/bin/python bench/nlu.py [--rounds 20] [--cv] [--json]

The files: the held-out file (written with the training data), the blind file (written by
someone who never saw the training data: bot/nlu/tests/PROVENANCE.md), and the blind file
"unseen": without its lines that equal a training line once folded, the only figure that
measures generalisation alone. Both backends are scored by what the service would act on: the
intent after the confidence bars, an abstention counting as a miss. Embedded latency is
`Client.parse_embedded` (romanise, features, scores, bars, entities); Rasa latency is the
client's POST /model/parse over local HTTP with its JSON decoded. Without RASA_URL only the
embedded columns are printed. --cv adds the 5-fold cross-validation over the training file.
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

from bot.nlu import data, defaults, embedded, obstacles  # noqa: E402
from bot.nlu.client import Client, accept  # noqa: E402
from bot.nlu.evaluation import cross_validate, evaluate  # noqa: E402
from bot.nlu.text import fold  # noqa: E402
from bot.parse import normalise  # noqa: E402


def latencies(fn, texts: list[str], rounds: int) -> dict:
    """Wall-clock time per message, and this thread's CPU time per message: on a machine
    shared with other work, the wall clock's p99 also counts the time the process waited for
    a core; the CPU time counts only the work."""
    wall, cpu = [], []
    for _ in range(rounds):
        for text in texts:
            started, started_cpu = time.perf_counter(), time.thread_time()
            fn(text)
            cpu.append(time.thread_time() - started_cpu)
            wall.append(time.perf_counter() - started)
    ms, cpu_ms = np.array(wall) * 1000, np.array(cpu) * 1000
    return {"n": len(wall), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "cpu_p50_ms": round(float(np.percentile(cpu_ms, 50)), 3),
            "cpu_p99_ms": round(float(np.percentile(cpu_ms, 99)), 3)}


def unseen(examples: list[data.Example], training: list[data.Example]) -> list[data.Example]:
    """The examples that equal no training line once folded or normalised."""
    seen = {k for e in training for k in (fold(e.text), normalise(e.text))}
    return [e for e in examples if not {fold(e.text), normalise(e.text)} & seen]


def summary(report: dict) -> dict:
    return {k: report[k] for k in ("examples", "accuracy", "macro_f1", "abstained")} | {
        "wrong": len(report["errors"]) - report["abstained"], "per_intent": report["per_intent"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rasa-url", default=os.environ.get("RASA_URL"))
    ap.add_argument("--rounds", type=int, default=20, help="passes over the files for latency")
    ap.add_argument("--cv", action="store_true", help="also cross-validate on the training file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    training = data.load(defaults.DATA)
    blind = data.load(defaults.BLIND)
    files = {"held-out": data.load(defaults.HELDOUT), "blind": blind,
             "blind, unseen": unseen(blind, training)}

    started = time.perf_counter()
    embedded.Classifier(training)  # cold: includes scipy's lazy imports
    cold = time.perf_counter() - started
    started = time.perf_counter()
    embedded.load()
    warm = time.perf_counter() - started
    obstacles.load()

    backends = {"embedded": lambda t: Client.parse_embedded(t).intent}
    timed = {"embedded": Client.parse_embedded}
    if args.rasa_url:
        rasa = Client(args.rasa_url, None, timeout=10.0)
        rasa.parse_rasa("hello")  # a first request warms the connection and the model
        backends["rasa"] = lambda t: rasa.parse_rasa(t).intent
        timed["rasa"] = rasa.parse_rasa

    scores = {name: {backend: summary(evaluate(examples, predict, backend))
                     for backend, predict in backends.items()}
              for name, examples in files.items()}
    texts = [e.text for e in files["held-out"] + files["blind"]]
    latency = {"embedded": latencies(timed["embedded"], texts, args.rounds)}
    if "rasa" in timed:
        latency["rasa"] = latencies(timed["rasa"], texts, max(1, args.rounds // 10))
    obstacle_set = data.load(defaults.OBSTACLES_BLIND)
    obstacle_scores = summary(evaluate(obstacle_set, lambda t: (obstacles.code(t) or (None,))[0],
                                       "embedded"))
    obstacle_latency = latencies(obstacles.code, [e.text for e in obstacle_set], args.rounds)
    results = {"load_average": [round(x, 2) for x in os.getloadavg()],
               "files": {name: len(examples) for name, examples in files.items()},
               "scores": scores, "latency": latency,
               "obstacles": {**obstacle_scores, "latency": obstacle_latency},
               "train_s": round(warm, 3), "train_cold_s": round(cold, 3)}
    if args.cv:
        reports = cross_validate(training, defaults.CV_FOLDS, defaults.CV_SEED,
                                 lambda g: accept(g.intent, g.confidence, "embedded", g.known))
        results["cv"] = {name: summary(r) for name, r in reports.items()}

    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    print_table(results, list(backends))
    return 0


def print_table(results: dict, names: list[str]) -> None:
    print(f"embedded classifier trained from {defaults.DATA.name} in "
          f"{results['train_s'] * 1000:.0f} ms ({results['train_cold_s'] * 1000:.0f} ms for the "
          "first fit in a fresh process)\n")
    files = results["files"]
    head = "".join(f"{f'{name} ({n})':>{14 * len(names)}}" for name, n in files.items())
    print(f"{'':<14}{head}")
    print(f"{'':<14}" + "".join(f"{b:>14}" for _ in files for b in names))
    rows = [("macro F1", lambda r: f"{r['macro_f1']:.3f}"),
            ("accuracy", lambda r: f"{r['accuracy']:.3f}"),
            ("abstained", lambda r: str(r["abstained"])),
            ("wrong intent", lambda r: str(r["wrong"]))]
    for label, fmt in rows:
        print(f"{label:<14}" + "".join(f"{fmt(results['scores'][f][b]):>14}"
                                       for f in files for b in names))
    print()
    lat = results["latency"]
    base = lat.get("rasa", lat["embedded"])
    print(f"{'latency':<14}{'p50':>10}{'p99':>10}{'p99 ÷ Rasa p99':>18}{'CPU p50':>10}"
          f"{'CPU p99':>10}{'messages':>10}")
    for b in names:
        print(f"{b:<14}{lat[b]['p50_ms']:>8.3f}ms{lat[b]['p99_ms']:>8.3f}ms"
              f"{lat[b]['p99_ms'] / base['p99_ms']:>17.3f}×{lat[b]['cpu_p50_ms']:>8.3f}ms"
              f"{lat[b]['cpu_p99_ms']:>8.3f}ms{lat[b]['n']:>10}")
    print(f"(load average when the run began: {results['load_average'][0]} on "
          f"{os.cpu_count()} cores; Rasa's CPU time is the client's, its server is another "
          "process)")
    o = results["obstacles"]
    print(f"\nobstacle coder (embedded) on {defaults.OBSTACLES_BLIND.name} ({o['examples']}): "
          f"macro F1 {o['macro_f1']:.3f}, accuracy {o['accuracy']:.3f}, abstained "
          f"{o['abstained']}, wrong {o['wrong']}; p50 / p99 {o['latency']['p50_ms']:.3f} / "
          f"{o['latency']['p99_ms']:.3f} ms")
    print("  " + ", ".join(f"{k} F1 {v['f1']:.2f}" for k, v in o["per_intent"].items()))
    for name, r in (results.get("cv") or {}).items():
        print(f"cross-validation ({defaults.CV_FOLDS}-fold, {name}): macro F1 "
              f"{r['macro_f1']:.3f}, accuracy {r['accuracy']:.3f}, abstained {r['abstained']}")
    if "rasa" not in names:
        print("\n(no RASA_URL: Rasa not measured; run under scripts/nlu-ci)")


if __name__ == "__main__":
    sys.exit(main())
