"""Every NLU constant in one place, each with what it is for (like rq's defaults.py)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "nlu.yml"  # the one training file, for Rasa and the embedded classifier
CONFIG = HERE / "config.yml"  # Rasa's pipeline
DOMAIN = HERE / "domain.yml"  # Rasa's intents and entities
HELDOUT = HERE / "tests" / "heldout.yml"  # never trained on: the benchmark and the eval tests

INTENTS = ("greet", "affirm", "deny", "opt_out", "opt_in", "help", "snooze", "repeat", "call_me",
           "thanks", "menu", "set_language", "question")
"""Every intent either backend may return (COMMON.md's fixed list)."""

NO_INTENT = "(none)"  # how an abstention is labelled in evaluation reports

MIN_CONFIDENCE = 0.35
"""Below this, a message has no intent: the flow replies "didn't understand" with the menu rather
than act on a guess. A trade-off read from 5-fold cross-validation on data/nlu.yml (never from the held-out
file): at 0.35 the classifier answers 90% of the left-out examples and 86% of those answers are
right; at 0.5 it answers 82% (88% right) and macro F1 drops. The training file is deliberately
harder than real replies: most examples are the only one of their kind."""

MIN_CONFIDENCE_BY_INTENT = {
    # an opt-out is never inferred from a weak guess (keyword STOP is the certain way), and even
    # above this bar the service asks for STOP rather than acting (bot/msgs/replies.py)
    "opt_out": 0.80,
}
"""Intents whose wrong guess costs more than a "didn't understand": a higher bar of their own."""

# Rasa's timeout and the breaker's limits are settings (bot/config.py: RASA_TIMEOUT_MS,
# RASA_BREAKER_FAILURES, RASA_BREAKER_COOLDOWN).
BREAKER_KEY = "nlu:breaker"  # Redis key prefix of the breaker's state, shared by all processes

RASA_VERSION = "3.6.21"  # pinned in scripts/nlu-requirements.txt too
RASA_PORT = 5005  # `scripts/nlu-serve` default; RASA_URL names the port the app calls
