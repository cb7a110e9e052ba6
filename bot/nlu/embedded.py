"""The embedded intent classifier: no server, trained at load from bot/nlu/data/nlu.yml.

Text is folded (bot/nlu/text.py), then described by TF-IDF character n-grams within words
(char_wb 1–4, robust to spelling variants) and word unigrams and bigrams, and classified by a
multinomial logistic regression, whose probabilities the thresholds in defaults.py act on.

scikit-learn trains it; answering one message goes through a short path of our own over the
fitted vocabulary, idf and coefficients (the same arithmetic as `predict_proba`, tested equal),
because scikit-learn's per-call input checks alone cost more than the whole 1 ms budget allows.
"""
from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from . import data, defaults
from .text import fold

C = 300.0  # inverse regularisation; chosen by 5-fold cross-validation on data/nlu.yml (macro F1)
CHAR_NGRAMS = (1, 4)  # character n-gram lengths, inside word boundaries
WORD_NGRAMS = (1, 2)  # word unigrams and bigrams


@dataclass(frozen=True)
class Guess:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]  # the top three, best first


class Classifier:
    def __init__(self, examples: list[data.Example]):
        texts = [fold(e.text) for e in examples]
        labels = [e.intent for e in examples]
        self.features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS,
                                      sublinear_tf=True)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS,
                                      token_pattern=r"\S+", sublinear_tf=True)),
        ])
        x = self.features.fit_transform(texts)
        self.model = LogisticRegression(C=C, max_iter=2000)
        self.model.fit(x, labels)
        self.intents = tuple(str(c) for c in self.model.classes_)
        # the fast path: per vectorizer its analyzer, vocabulary and idf; one weight matrix
        self._parts = []
        offset = 0
        for _, vec in self.features.transformer_list:
            self._parts.append((vec.build_analyzer(), vec.vocabulary_, vec.idf_, offset))
            offset += len(vec.vocabulary_)
        self._weights = np.ascontiguousarray(self.model.coef_.T)  # (features, intents)
        self._bias = self.model.intercept_.copy()

    def scores(self, text: str) -> np.ndarray:
        """Class probabilities for one message, in the order of `self.intents`."""
        folded = fold(text)
        idx: list[int] = []
        vals: list[float] = []
        for analyze, vocab, idf, offset in self._parts:
            counts = Counter(g for g in analyze(folded) if g in vocab)
            if not counts:
                continue
            weights = [(vocab[g], (1.0 + math.log(n)) * idf[vocab[g]]) for g, n in counts.items()]
            norm = math.sqrt(sum(w * w for _, w in weights))
            for j, w in weights:
                idx.append(offset + j)
                vals.append(w / norm)
        z = self._bias.copy()
        if idx:
            z += np.asarray(vals) @ self._weights[idx]
        z = np.exp(z - z.max())
        return z / z.sum()

    def guess(self, text: str) -> Guess:
        p = self.scores(text)
        order = np.argsort(p)[::-1][:3]
        ranking = tuple((self.intents[i], float(p[i])) for i in order)
        return Guess(ranking[0][0], ranking[0][1], ranking)


_lock = threading.Lock()
_classifier: Classifier | None = None


def load() -> Classifier:
    """The process's classifier, trained on first use (well under a second)."""
    global _classifier
    with _lock:
        if _classifier is None:
            _classifier = Classifier(data.load(defaults.DATA))
        return _classifier
