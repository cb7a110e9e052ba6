"""Every NLU constant in one place, each with what it is for (like rq's defaults.py)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "nlu.yml"  # the one training file, for Rasa and the embedded classifier
CONFIG = HERE / "config.yml"  # Rasa's pipeline
DOMAIN = HERE / "domain.yml"  # Rasa's intents and entities
HELDOUT = HERE / "tests" / "heldout.yml"  # never trained on: the benchmark and the eval tests
BLIND = HERE / "tests" / "blind.yml"  # written by someone who never saw DATA (tests/PROVENANCE.md)
BLIND_OVERLAP = HERE / "tests" / "blind_overlap.yml"  # its lines DATA held before it was written
OBSTACLE_DATA = HERE / "data" / "obstacles.yml"  # what stopped a teacher: training, embedded only
OBSTACLES_BLIND = HERE / "tests" / "obstacles_blind.yml"  # its blind evaluation set
THRESHOLDS = HERE / "data" / "thresholds.yml"  # per-intent bars, from `sathi nlu tune`
EVALUATION_FILES = (HELDOUT, BLIND, OBSTACLES_BLIND)
"""Never trained on, never copied from: `sathi nlu review --label` refuses their lines."""

INTENTS = ("greet", "affirm", "deny", "opt_out", "opt_in", "help", "snooze", "repeat", "call_me",
           "thanks", "menu", "set_language", "question")
"""Every intent either backend may return (COMMON.md's fixed list)."""

OBSTACLES = ("time", "materials", "understanding", "other")
# the codes the reflection stores (store.models.OBSTACLES; the NLU imports no storage):
# tests/test_nlu_obstacles.py keeps the two equal
"""What stopped a teacher trying the week's activity, as officers' digests count it:
time          no time: the syllabus, exams, other duties, absence, a holiday
materials     what the activity needs was not there: counters, cards, sticks, a phone, space
understanding the learners did not understand, or could not follow the activity
other         anything else (the teacher's own understanding, illness, the class, no reason)
A number answer is coded by the flow; `bot.nlu.obstacle(rt, text)` codes one in words."""
NOT_AN_OBSTACLE = "none"
"""The label, in data/obstacles.yml, of replies that name no obstacle ("ok", "it went well"):
the coder learns them so as to answer None instead of forcing them into a code."""

NO_INTENT = "(none)"  # how an abstention is labelled in evaluation reports

MIN_CONFIDENCE = 0.35
"""Below this, a message has no intent: the flow replies "didn't understand" with the menu rather
than act on a guess. Rasa's answers are held to it. The embedded classifier's bars are tuned per
intent by cross-validation (THRESHOLDS), never lower than this: the training file has no
out-of-scope text, so cross-validation cannot see what a bar too low would let through."""

MIN_CONFIDENCE_BY_INTENT = {
    # an opt-out is never inferred from a weak guess (keyword STOP is the certain way), and even
    # above this bar the service asks for STOP rather than acting (bot/msgs/replies.py)
    "opt_out": 0.80,
}
"""Intents whose wrong guess costs more than a "didn't understand": a bar of their own, which a
tuned bar may raise but never lower."""

KNOWN_SHARE_TURNED_AWAY = 0.01
"""The least share of a message's character n-grams the training data must hold before the
embedded classifier acts on it (`min_known` in THRESHOLDS) is tuned so that this share of the
left-out training examples fall below it. Random letters mostly do: without it, the bars
tuned on in-scope data alone let most keypad slips through as some intent (60% of 300 random
strings; 16% with it), and "other", the obstacles' catch-all, would collect them."""

MAX_TEXT_CHARS = 1000
"""Only this much of a message is read (both backends): a teacher's reply is a line or two, and
a pasted page (WhatsApp carries 4,096 characters) would cost the worker 50 ms a thousand."""

CV_FOLDS = 5  # `sathi nlu tune` and `sathi nlu eval --cv`: folds of the cross-validation
CV_SEED = 0  # which examples fall in which fold: fixed, so tuning gives the same bars each time
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(7, 20))  # 0.35 … 0.95: bars tried
TUNED_ON_CHANGED_TEXT = frozenset({"intents"})
"""The models whose bars are tuned on the left-out lines as written and as changed (spaces or
vowels left out), pooled (bot/nlu/thresholds.py). Not the obstacle coder: tuned so, its
catch-all "other" got a bar of 0.45 and coded a keypad slip ("xqzv bnmw") as an obstacle."""

REVIEW_UNSURE_MARGIN = 0.15
"""`sathi nlu review` lists a message the NLU abstained on, or whose accepted intent was less
than this above its bar: the ones a person should label first."""
REVIEW_LIMIT = 50  # messages `sathi nlu review` lists unless --limit says otherwise
MAX_LABEL_CHARS = 160  # a labelled line longer than one SMS is refused (a paste, not a message)

# Rasa's timeout and the breaker's limits are settings (bot/config.py: RASA_TIMEOUT_MS,
# RASA_BREAKER_FAILURES, RASA_BREAKER_COOLDOWN).
BREAKER_KEY = "nlu:breaker"  # Redis key prefix of the breaker's state, shared by all processes

RASA_VERSION = "3.6.21"  # pinned in scripts/nlu-requirements.txt too
RASA_PORT = 5005  # `scripts/nlu-serve` default; RASA_URL names the port the app calls
