"""The embedded classifier: no server, trained at load from a Rasa-format file (bot/nlu/data/).

A message is first written in folded Latin letters whichever script it came in
(`text.romanise`: ধন্যবাদ and "dhonnobad" both become "donobad"), then described by TF-IDF
n-grams of five views of it:
- words and word pairs;
- character n-grams within words, robust to spelling variants;
- character n-grams of its sound, the consonants alone ("dnbd"), robust to vowels left out;
- character n-grams of the letters, and of the sound, with the spaces taken out, so that
  "korinai" meets "kori nai".
A multinomial logistic regression turns them into probabilities, on which the per-intent
thresholds (bot/nlu/data/thresholds.yml) act. The same class, trained on data/obstacles.yml,
codes what stopped a teacher (bot/nlu/obstacles.py).

scikit-learn trains it; answering one message goes through a short path of our own over the
fitted vocabulary, idf and coefficients (the same arithmetic as `predict_proba`, tested equal),
because scikit-learn's per-call input checks alone cost more than the whole 1 ms budget allows.
"""
from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from . import data, defaults
from .text import devowel, romanise


def _same(latin: str) -> str:
    return latin


def _joined(latin: str) -> str:
    return latin.replace(" ", "")


def _sound_joined(latin: str) -> str:
    return devowel(latin).replace(" ", "")


@dataclass(frozen=True)
class Channel:
    """One view of a message's romanised form, and the n-grams taken from it."""

    name: str
    view: Callable[[str], str]  # romanised text -> the text the n-grams are taken from
    analyzer: str  # "word", "char_wb" (inside words) or "char" (across them)
    ngrams: tuple[int, int]


CHANNELS = (
    Channel("words", _same, "word", (1, 2)),
    Channel("letters", _same, "char_wb", (1, 4)),
    Channel("sound", devowel, "char_wb", (1, 4)),
    Channel("letters_joined", _joined, "char", (2, 4)),
    Channel("sound_joined", _sound_joined, "char", (2, 4)),
)
"""The features. Each was chosen by 5-fold cross-validation on data/nlu.yml, three times over
with different folds, scoring the left-out examples as written and with their spaces taken out
or a third of their vowels dropped (bench/nlu.py --cv shows the same measure)."""

C = 300.0  # inverse regularisation, chosen by the same cross-validation (macro F1)


@dataclass(frozen=True)
class Guess:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]  # the top three, best first
    known: float = 1.0  # the share of its character n-grams seen in training (see _read)

class Classifier:
    def __init__(self, examples: list[data.Example], c: float = C,
                 channels: tuple[Channel, ...] = CHANNELS,
                 reader: Callable[[str], str] = romanise):
        """`reader` turns a message into the text the channels view (tests compare others)."""
        labels = [e.intent for e in examples]
        self.reader = reader
        romanised = [reader(e.text) for e in examples]
        self.channels = channels
        self.vectorizers = []
        blocks = []
        for ch in channels:
            words = {"token_pattern": r"\S+"} if ch.analyzer == "word" else {}
            vec = TfidfVectorizer(analyzer=ch.analyzer, ngram_range=ch.ngrams, sublinear_tf=True,
                                  lowercase=False, **words)
            blocks.append(vec.fit_transform([ch.view(latin) for latin in romanised]))
            self.vectorizers.append(vec)
        self.model = LogisticRegression(C=c, max_iter=3000)
        self.model.fit(sp.hstack(blocks).tocsr(), labels)
        self.intents = tuple(str(c) for c in self.model.classes_)
        # the fast path: per channel its view, analyzer, vocabulary and idf; one weight matrix
        self._parts = []
        offset = 0
        for ch, vec in zip(channels, self.vectorizers):
            # idf as Python floats: a numpy scalar per n-gram costs more than the arithmetic
            self._parts.append((ch.view, vec.build_analyzer(), vec.vocabulary_,
                                vec.idf_.tolist(), offset))
            offset += len(vec.vocabulary_)
        # the channels whose n-grams say how much of a message is known: those that ignore
        # spaces (a message without them is still known), letters and sound (or without vowels)
        self._knowing = {i for i, ch in enumerate(channels) if ch.analyzer == "char"}
        self._weights = np.ascontiguousarray(self.model.coef_.T)  # (features, intents)
        self._bias = self.model.intercept_.copy()

    def features(self, texts: list[str]) -> sp.csr_matrix:
        """scikit-learn's own transform of `texts`: what the fast path is tested against."""
        romanised = [self.reader(t) for t in texts]
        return sp.hstack([vec.transform([ch.view(latin) for latin in romanised])
                          for ch, vec in zip(self.channels, self.vectorizers)]).tocsr()

    def scores(self, text: str) -> np.ndarray:
        """Class probabilities for one message, in the order of `self.intents`."""
        return self._read(text)[0]

    def _read(self, text: str) -> tuple[np.ndarray, float]:
        """The class probabilities, and how much of the message the training data knows: the
        share of its character n-grams (spaces taken out) seen in training, of its letters or
        of its sound, whichever is higher; near 0 for a message in no language it knows."""
        latin = self.reader(text)
        idx: list[int] = []
        vals: list[float] = []
        known = 0.0
        for i, (view, analyze, vocab, idf, offset) in enumerate(self._parts):
            grams = analyze(view(latin))
            in_vocab = vocab.__contains__
            if i in self._knowing:
                seen = set(grams)
                known = max(known, sum(map(in_vocab, seen)) / len(seen) if seen else 0.0)
            counts = Counter(filter(in_vocab, grams))
            if not counts:
                continue
            cols = [vocab[g] for g in counts]
            weights = [(1.0 + math.log(n)) * idf[j] for j, n in zip(cols, counts.values())]
            norm = math.sqrt(sum(w * w for w in weights))
            idx += [offset + j for j in cols]
            vals += [w / norm for w in weights]
        z = self._bias.copy()
        if idx:
            z += np.asarray(vals) @ self._weights[idx]
        z = np.exp(z - z.max())
        return z / z.sum(), known

    def guess(self, text: str) -> Guess:
        p, known = self._read(text)
        order = np.argsort(p)[::-1][:3]
        ranking = tuple((self.intents[i], float(p[i])) for i in order)
        return Guess(ranking[0][0], ranking[0][1], ranking, known)


_lock = threading.Lock()
_classifiers: dict[Path, Classifier] = {}


def load(path: Path | None = None) -> Classifier:
    """The process's classifier for a training file (default: the intents' data/nlu.yml),
    trained on first use (3-4 s of CPU for the 2,000 lines of the intents)."""
    path = path or defaults.DATA
    with _lock:
        if path not in _classifiers:
            _classifiers[path] = Classifier(data.load(path))
        return _classifiers[path]


def forget() -> None:
    """Drop the trained classifiers: the next `load` trains afresh (after the data changed)."""
    with _lock:
        _classifiers.clear()
