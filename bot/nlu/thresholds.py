"""The confidence each class must reach before the service acts on it, tuned by cross-validation;
and how much of a message must be known at all.

For each class, the bar is the one (from defaults.THRESHOLD_GRID) that gives that class the
best F1 on the out-of-fold guesses of defaults.CV_FOLDS-fold cross-validation over the training
file: a guess below its bar is an abstention ("didn't understand"). The left-out lines are
guessed as written and as teachers change them on a basic phone (spaces or a third of the vowels
left out, evaluation.VARIANTS), all pooled: three guesses per line put more guesses in the
middle range of confidence, where the bar matters, and teachers' messages are seldom as clean as
the training file. (Tuned on clean lines alone, a class with few mid-range guesses got any bar
of a flat range, 0.35 one seed and 0.70 the next; pooled, the bars moved less between seeds and
the macro F1 of the other seed's out-of-fold guesses under them rose from 0.927 to 0.930.)
The obstacle coder's bars are tuned on its lines as written only (see
defaults.TUNED_ON_CHANGED_TEXT).

A bar only changes the precision and recall of its own class (an abstained wrong guess was a
miss for the true class either way), so tuning each class on its own maximises macro F1. Where
several bars score the best F1, the middle one is taken (rounded up): out-of-fold confidences are only
a sample, and the middle of the best range is the bar least likely to be at its edge.

Never below defaults.MIN_CONFIDENCE, nor below a class's own bar in
defaults.MIN_CONFIDENCE_BY_INTENT (opt_out). Never tuned on an evaluation file.

The training files hold no out-of-scope text, so cross-validation cannot see what a low bar
lets through. `min_known` guards that side: a message of which the training data holds less
than this share of character n-grams is not acted on; it is set so that only
defaults.KNOWN_SHARE_TURNED_AWAY of the left-out training examples fall below it.

`sathi nlu tune` writes the bars to data/thresholds.yml with a hash of each training file;
tests fail when a training file changed and the bars were not tuned again.
"""
from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path

import yaml

from . import data, defaults

def models() -> dict[str, Path]:
    """Each embedded model and the training file its bars are tuned on."""
    return {"intents": defaults.DATA, "obstacles": defaults.OBSTACLE_DATA}


def floor(label: str) -> float:
    return max(defaults.MIN_CONFIDENCE, defaults.MIN_CONFIDENCE_BY_INTENT.get(label, 0.0))


def best_bars(truth: list[str], guesses: list) -> dict[str, float]:
    """Per class, the bar that maximises its F1 over (truth, Guess) pairs."""
    bars = {}
    for label in sorted(set(truth)):
        support = truth.count(label)
        mine = [(g.confidence, t == label) for t, g in zip(truth, guesses) if g.intent == label]
        scored = []
        for bar in defaults.THRESHOLD_GRID:
            if bar < floor(label):
                continue
            hits = sum(1 for c, right in mine if c >= bar and right)
            wrong = sum(1 for c, right in mine if c >= bar and not right)
            scored.append((2 * hits / (2 * hits + wrong + (support - hits)), bar))
        if not scored:
            bars[label] = floor(label)
            continue
        top = max(f1 for f1, _ in scored)
        best = [bar for f1, bar in scored if f1 >= top - 1e-12]
        bars[label] = best[len(best) // 2]
    return bars


def least_known(guesses: list) -> float:
    """The highest grid step (0.05) that turns away at most defaults.KNOWN_SHARE_TURNED_AWAY
    of the guesses for knowing too little of their message."""
    known = sorted(g.known for g in guesses)
    allowed = int(len(known) * defaults.KNOWN_SHARE_TURNED_AWAY)
    cut = known[allowed] if known else 0.0
    return math.floor(cut * 20 + 1e-9) / 20


def tune(path: Path, folds: int = defaults.CV_FOLDS, seed: int = defaults.CV_SEED,
         changed: bool | None = None) -> dict:
    """{"min_known": …, "bars": {class: bar}} for a training file: the bars from its out-of-fold
    guesses as written and, if `changed` (by default: if its model is in
    defaults.TUNED_ON_CHANGED_TEXT), as changed too, pooled; the least known share from those
    as written."""
    from .evaluation import VARIANTS, out_of_fold

    if changed is None:
        changed = any(name in defaults.TUNED_ON_CHANGED_TEXT
                      for name, p in models().items() if Path(p) == Path(path))
    examples = data.load(path)
    guesses = out_of_fold(examples, folds, seed,
                          VARIANTS if changed else {"as written": None})
    truth = [e.intent for e in examples]
    return {"min_known": least_known(guesses["as written"]),
            "bars": best_bars(truth * len(guesses), [g for gs in guesses.values() for g in gs])}


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def write(tuned: dict[str, dict], out: Path | None = None) -> None:
    doc = {name: {"data": digest(path), "folds": defaults.CV_FOLDS, "seed": defaults.CV_SEED,
                  **tuned[name]} for name, path in models().items()}
    header = ("# Written by `sathi nlu tune`: per class, the confidence the embedded classifier\n"
              "# must reach, tuned by cross-validation on the training file\n"
              "# (bot/nlu/thresholds.py). `data` is a hash of that file: tune again whenever it\n"
              "# changes.\n")
    text = header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    data.write_whole(out or defaults.THRESHOLDS, text)
    forget()


def retune(only: set[str] | None = None) -> dict[str, dict]:
    """Tune the models' bars (`only` those named; the others keep theirs) and write them all;
    what `sathi nlu tune` does."""
    known = load()
    tuned = {name: tune(path) if only is None or name in only or name not in known
             else {k: known[name][k] for k in ("min_known", "bars")}
             for name, path in models().items()}
    write(tuned)
    return tuned


_lock = threading.Lock()
_loaded: dict | None = None


def load() -> dict[str, dict]:
    """{model: {"data": hash, "bars": {class: bar}}} from data/thresholds.yml, read once."""
    global _loaded
    with _lock:
        if _loaded is None:
            try:
                _loaded = yaml.safe_load(defaults.THRESHOLDS.read_text(encoding="utf-8")) or {}
            except FileNotFoundError:  # not tuned yet: every class at its floor
                _loaded = {}
        return _loaded


def forget() -> None:
    global _loaded
    with _lock:
        _loaded = None


def min_known(model: str) -> float:
    """The share of a message's n-grams `model`'s training data must hold (0 if never tuned)."""
    return float(load().get(model, {}).get("min_known", 0.0))


def bar(model: str, label: str) -> float:
    """The confidence `label` of `model` must reach (its floor if it was never tuned)."""
    return max(floor(label), float(load().get(model, {}).get("bars", {}).get(label, 0.0)))
