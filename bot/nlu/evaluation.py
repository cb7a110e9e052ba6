"""Scoring a backend on a Rasa-format NLU file: accuracy, macro F1, per intent, confusions.

A prediction is what the service would act on: the intent after the confidence thresholds of
defaults.py, or NO_INTENT when the backend was unsure. An abstention counts against recall of
the true intent, never as a hit. Macro F1 averages over the intents the file contains.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from .data import Example
from .defaults import NO_INTENT


def evaluate(examples: list[Example], predict: Callable[[str], str | None],
             backend: str) -> dict:
    truth = [e.intent for e in examples]
    predicted = [predict(e.text) or NO_INTENT for e in examples]
    labels = sorted(set(truth))
    p, r, f, n = precision_recall_fscore_support(truth, predicted, labels=labels,
                                                 zero_division=0)
    confusions = Counter((t, g) for t, g in zip(truth, predicted) if t != g)
    return {
        "backend": backend,
        "examples": len(examples),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=labels, average="macro",
                                         zero_division=0)), 4),
        "abstained": predicted.count(NO_INTENT),
        "per_intent": {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                               "f1": round(float(f[i]), 4), "support": int(n[i])}
                       for i, label in enumerate(labels)},
        "confusions": [{"true": t, "predicted": g, "count": c}
                       for (t, g), c in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))],
        "errors": [{"text": e.text, "true": e.intent, "predicted": g}
                   for e, g in zip(examples, predicted) if g != e.intent],
    }


def format_report(report: dict) -> str:
    lines = [f"backend: {report['backend']}   examples: {report['examples']}   "
             f"abstained: {report['abstained']}",
             f"accuracy: {report['accuracy']:.3f}   macro F1: {report['macro_f1']:.3f}", "",
             f"{'intent':<14}{'precision':>10}{'recall':>8}{'f1':>7}{'n':>5}"]
    for intent, m in report["per_intent"].items():
        lines.append(f"{intent:<14}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}"
                     f"{m['support']:>5}")
    lines += ["", "confusions (true -> predicted: count):"]
    lines += [f"  {c['true']} -> {c['predicted']}: {c['count']}" for c in report["confusions"]]
    if not report["confusions"]:
        lines.append("  none")
    return "\n".join(lines)
