"""Understanding free text (intents and entities) for the flows.

Keywords (STOP, START, HELP) and numbers are parsed first, deterministically (bot/parse.py);
only what remains comes here. `understand(rt, text)` asks Rasa when RASA_URL is set (short
timeout, circuit breaker) and the embedded classifier otherwise; see client.py.
`obstacle(rt, text)` codes what stopped a teacher (defaults.OBSTACLES) with the embedded
classifier. The training data, the Rasa project and the evaluation files live beside this
module; `sathi nlu` (cli.py) trains, tunes and evaluates.

It understands text and writes nothing: what the service answers, and storing a teacher's
question, belong to bot/msgs (replies.py, questions.py).

May import: config, logs, i18n, parse. `understand(rt, text)` is handed the runtime; it never
imports it.
"""
from __future__ import annotations

import weakref

from .client import Breaker, Client, Understanding

_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def client(rt) -> Client:
    """The NLU client of a runtime, made on first use from its settings."""
    c = _clients.get(rt)
    if c is None:
        s = rt.settings
        breaker = Breaker(rt.redis, s.rasa_breaker_failures, s.rasa_breaker_cooldown) \
            if s.rasa_url else None
        c = _clients[rt] = Client(s.rasa_url, breaker, s.rasa_timeout_ms / 1000)
    return c


def understand(rt, text: str) -> Understanding:
    return client(rt).understand(text)


def obstacle(rt, text: str) -> tuple[str, float] | None:
    """What stopped a teacher, from their words: (code, confidence), code one of
    defaults.OBSTACLES ("time", "materials", "understanding", "other"); None when unsure."""
    from . import obstacles  # scikit-learn is imported where it is used, not by the webhook

    return obstacles.code(text)


__all__ = ["Understanding", "client", "obstacle", "understand"]
