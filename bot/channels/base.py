"""The shape every channel adapter has: an outgoing message in, a typed result out.

An adapter knows one provider's API and nothing about flows. The outbox chooses an adapter
by channel, so a local SMS gateway plugs in beside Twilio without touching the flows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    to: str  # E.164
    channel: str  # "sms" | "whatsapp"
    body: str
    status_callback: str | None = None


@dataclass(frozen=True)
class Sent:
    sid: str


@dataclass(frozen=True)
class RetryLater:
    after: float  # seconds
    code: int | None = None


@dataclass(frozen=True)
class Failed:
    code: int | None
    permanent: bool = True
    reason: str = ""


Result = Sent | RetryLater | Failed


class Adapter(Protocol):
    name: str

    def send(self, msg: Outgoing) -> Result: ...
