"""Understanding free text: Rasa when RASA_URL is set and answering, else the embedded classifier.

`understand(text)` never raises and never waits longer than the Rasa timeout: any failure of
Rasa (refused, timed out, a 5xx, an unreadable answer) falls back to the embedded classifier for
that message and counts towards the circuit breaker. After BREAKER_FAILURES failures in a row
the breaker opens and Rasa is not called for BREAKER_COOLDOWN seconds; then one message tries it
again (half-open): success closes the breaker, failure opens it for another cool-down.

The breaker's state lives in Redis, not in the process: RQ's worker forks a process per job,
so a per-process count would be forgotten after every message, and /healthz (another process)
could not say whether it is open.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import redis
import requests

from ..i18n import ascii_digits
from . import defaults, thresholds

log = logging.getLogger(__name__)

_MODULE = re.compile(r"(?:module|modul|মডিউল|মডিউলের)\s*(?:no\.?|number|নং|নম্বর)?\s*([1-9১-৯])"
                     r"|([1-9১-৯])\s*(?:no\.?|number|নং|নম্বর)\s*(?:module|মডিউল)", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9০-৯]+")


@dataclass(frozen=True)
class Understanding:
    """What a message means: an intent (None when unsure) and its entities."""

    intent: str | None
    confidence: float
    backend: str  # "rasa" | "embedded"
    guess: str | None = None  # the best intent even when below its threshold
    entities: dict = field(default_factory=dict)  # {"module": 3, "number": 5}
    ranking: tuple[tuple[str, float], ...] = ()  # the best intents and their scores, best first


def bar(guess: str | None, backend: str) -> float:
    """The confidence `guess` must reach. The embedded classifier's bars are tuned by
    cross-validation (thresholds.py); Rasa's are the defaults (tuning them would take a Rasa
    training per fold)."""
    if backend == "embedded":
        return thresholds.bar("intents", guess)
    return defaults.MIN_CONFIDENCE_BY_INTENT.get(guess, defaults.MIN_CONFIDENCE)


def accept(guess: str | None, confidence: float, backend: str = "rasa",
           known: float = 1.0) -> str | None:
    """The intent to act on, or None: each intent has a confidence it must reach; and the
    embedded classifier must know enough of the message (`known`, thresholds.py)."""
    if guess not in defaults.INTENTS:
        return None
    if backend == "embedded" and known < thresholds.min_known("intents"):
        return None
    return guess if confidence >= bar(guess, backend) else None


def entities(text: str) -> dict:
    """Module number (1–9) and the first number, in either digit script, found by pattern."""
    found = {}
    m = _MODULE.search(text or "")
    if m:
        found["module"] = int(ascii_digits(m.group(1) or m.group(2)))
    n = _NUMBER.search(text or "")
    if n:
        found["number"] = int(ascii_digits(n.group(0)))
    return found


class Breaker:
    """A circuit breaker whose state is shared through Redis by every process of the service."""

    def __init__(self, conn: redis.Redis, failures: int, cooldown: float,
                 key: str = defaults.BREAKER_KEY):
        self.conn, self.failures, self.cooldown = conn, failures, cooldown
        self.k_count, self.k_open, self.k_tripped = f"{key}:failures", f"{key}:open", f"{key}:tripped"

    def is_open(self) -> bool:
        try:
            return bool(self.conn.exists(self.k_open))
        except redis.RedisError:
            return False  # no shared state to go by: let Rasa be tried (with its short timeout)

    def record_success(self) -> None:
        try:
            self.conn.delete(self.k_count, self.k_tripped)
        except redis.RedisError:
            pass

    def record_failure(self) -> bool:
        """Count a failure; True when the breaker opens because of it."""
        try:
            tripped = self.conn.exists(self.k_tripped)  # a half-open trial failed: reopen at once
            n = self.conn.incr(self.k_count)
            # failures "in a row": a success deletes the count; one this old is forgotten too
            self.conn.expire(self.k_count, int(self.cooldown * 10) or 1)
            if tripped or n >= self.failures:
                ms = max(1, int(self.cooldown * 1000))
                pipe = self.conn.pipeline()
                pipe.set(self.k_open, 1, px=ms).set(self.k_tripped, 1).delete(self.k_count)
                pipe.execute()
                return True
        except redis.RedisError:
            pass
        return False

    def state(self) -> str:
        return "open" if self.is_open() else "closed"


class Client:
    """Calls Rasa's /model/parse with a short timeout; the embedded classifier otherwise."""

    def __init__(self, rasa_url: str | None, breaker: Breaker | None, timeout: float):
        self.rasa_url = rasa_url.rstrip("/") if rasa_url else None
        self.breaker, self.timeout = breaker, timeout
        self._http = requests.Session()

    def understand(self, text: str) -> Understanding:
        text = (text or "")[:defaults.MAX_TEXT_CHARS]
        if self.rasa_url and not (self.breaker and self.breaker.is_open()):
            started = time.perf_counter()
            try:
                result = self.parse_rasa(text)
            except (requests.RequestException, ValueError, KeyError, TypeError,
                    AttributeError) as e:
                opened = self.breaker.record_failure() if self.breaker else False
                log.warning("Rasa failed after %.0f ms (%s); embedded classifier used%s",
                            (time.perf_counter() - started) * 1000, type(e).__name__,
                            "; circuit breaker opened" if opened else "")
            else:
                if self.breaker:
                    self.breaker.record_success()
                return result
        return self.parse_embedded(text)

    def parse_rasa(self, text: str) -> Understanding:
        r = self._http.post(f"{self.rasa_url}/model/parse", json={"text": text},
                            timeout=(self.timeout, self.timeout))
        r.raise_for_status()
        body = r.json()
        intent = body.get("intent") or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        found = entities(text)
        for ent in body.get("entities") or []:
            if ent.get("entity") in ("module", "number") and ent.get("entity") not in found:
                value = ascii_digits(str(ent.get("value", "")))
                if value.isdigit():
                    found[ent["entity"]] = int(value)
        ranking = tuple((str(r.get("name")), float(r.get("confidence") or 0.0))
                        for r in (body.get("intent_ranking") or [])[:3]) or ((name, confidence),)
        return Understanding(accept(name, confidence), confidence, "rasa", name, found, ranking)

    @staticmethod
    def parse_embedded(text: str) -> Understanding:
        from . import embedded  # scikit-learn is imported where it is used, not by the webhook

        g = embedded.load().guess(text)
        return Understanding(accept(g.intent, g.confidence, "embedded", g.known), g.confidence,
                             "embedded", g.intent, entities(text), g.ranking)

    def backend(self) -> str:
        """Which backend answers now: what /healthz reports."""
        if self.rasa_url and not (self.breaker and self.breaker.is_open()):
            return "rasa"
        return "embedded"
