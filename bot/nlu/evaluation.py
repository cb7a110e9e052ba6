"""Scoring a backend on a Rasa-format NLU file: accuracy, macro F1, per intent, confusions.

A prediction is what the service would act on: the intent after the confidence thresholds of
defaults.py, or NO_INTENT when the backend was unsure. An abstention counts against recall of
the true intent, never as a hit. Macro F1 averages over the intents the file contains.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from typing import Callable

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from .data import Example
from .defaults import NO_INTENT


def evaluate(examples: list[Example], predict: Callable[[str], str | None],
             backend: str) -> dict:
    """`predict` answers each example's text: the intent acted on, or None."""
    return score(examples, [predict(e.text) for e in examples], backend)


def score(examples: list[Example], said: list[str | None], backend: str) -> dict:
    truth = [e.intent for e in examples]
    predicted = [s or NO_INTENT for s in said]
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


def _no_spaces(text: str, rnd: random.Random) -> str:
    return text.replace(" ", "")


_VOWEL_SIGNS = re.compile(r"[\u09be-\u09cc]")


def _fewer_vowels(text: str, rnd: random.Random) -> str:
    """About a third of the Bangla vowel signs and of the Latin vowels inside words left out,
    as teachers write in a hurry ("kmn achen", করছ)."""
    out = []
    for i, c in enumerate(text):
        inside = i > 0 and text[i - 1].isalpha()
        if (_VOWEL_SIGNS.match(c) or (c in "aeiou" and inside)) and rnd.random() < 0.35:
            continue
        out.append(c)
    return "".join(out)


VARIANTS: dict[str, Callable[[str, random.Random], str] | None] = {
    "as written": None,
    "no spaces": _no_spaces,
    "fewer vowels": _fewer_vowels,
}
"""How left-out examples are shown to the classifier in cross-validation: as written, and
changed as teachers change words on a basic phone. The changes are made at random, seeded."""


def out_of_fold(examples: list[Example], folds: int, seed: int,
                variants: dict = VARIANTS) -> dict[str, list]:
    """Every example guessed by the embedded classifier trained on the other folds
    (stratified by intent): {variant: [Guess per example, in order]}."""
    from sklearn.model_selection import StratifiedKFold

    from .embedded import Classifier

    labels = [e.intent for e in examples]
    guesses = {name: [None] * len(examples) for name in variants}
    rnd = random.Random(seed)
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in split.split(labels, labels):
        clf = Classifier([examples[i] for i in train])
        for i in test:
            for name, change in variants.items():
                text = examples[i].text if change is None else change(examples[i].text, rnd)
                guesses[name][i] = clf.guess(text)
    return guesses


def cross_validate(examples: list[Example], folds: int, seed: int,
                   act: Callable[[object], str | None]) -> dict[str, dict]:
    """A report (as `evaluate`'s) per variant, on the out-of-fold guesses: `act` says what
    the service would do with each embedded.Guess (bars applied)."""
    return {name: score(examples, [act(g) for g in guesses],
                        f"embedded, {folds}-fold cross-validation, {name}")
            for name, guesses in out_of_fold(examples, folds, seed).items()}
