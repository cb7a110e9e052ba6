"""The shape every channel adapter has: an outgoing message in, a typed result out.

An adapter knows one provider's API and nothing about flows. The outbox chooses an adapter
by channel, so a local SMS gateway plugs in beside Twilio without touching the flows. What
to do with a result (retry, template, fall back to SMS) is the outbox's policy, never the
adapter's: an adapter only says which kind of failure it saw (`Failed.cause`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import requests
from urllib3.exceptions import NewConnectionError

OPTED_OUT = "opted_out"  # the recipient told the provider to stop: send them nothing more
OUTSIDE_SESSION = "outside_session"  # WhatsApp's 24-hour window is closed: free text refused


@dataclass(frozen=True)
class Template:
    """A provider-approved message template (WhatsApp outside the 24-hour session)."""

    sid: str  # the provider's id for it (Twilio: ContentSid, HX...)
    variables: dict[str, str] = field(default_factory=dict)  # {"1": "..."}


@dataclass(frozen=True)
class Outgoing:
    to: str  # E.164
    channel: str  # "sms" | "whatsapp"
    body: str
    status_callback: str | None = None
    template: Template | None = None  # sent instead of the body when set
    ref: str | None = None  # our id for the message ({id} in a gateway's request)


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
    cause: str = ""  # OPTED_OUT, OUTSIDE_SESSION, or "" for any other failure


@dataclass(frozen=True)
class Unknown:
    """The provider may or may not have taken the message: the request went out and no answer
    came (a read timeout, a connection reset after sending). Never re-sent blind: the outbox
    looks it up first (`Adapter.lookup`)."""

    reason: str = ""


Result = Sent | RetryLater | Failed | Unknown


class Adapter(Protocol):
    name: str

    def send(self, msg: Outgoing) -> Result: ...

    def lookup(self, msg: Outgoing, since: datetime) -> list[str] | RetryLater:
        """The provider's ids of messages it has like `msg` (same recipient, sender and body),
        created since `since`, oldest first; RetryLater when the provider cannot say now."""
        ...

    def sender(self, channel: str) -> str | None:
        """The address messages on `channel` go out from (its rate is limited), or None
        when nothing limits it (a local outbox)."""
        ...

    def delivery_failure(self, code: int | None) -> RetryLater | Failed:
        """What an error code in a failed-delivery status report means."""
        ...


def never_arrived(e: requests.RequestException) -> bool:
    """True when a request cannot have reached the provider: the connection was never made
    (refused, no route, DNS). Anything else (a read timeout, a reset after sending) may have
    reached it: its outcome is unknown."""
    if isinstance(e, requests.ConnectTimeout):
        return True
    if isinstance(e, requests.ConnectionError):
        cause = e.args[0] if e.args else None  # urllib3's MaxRetryError, with the reason
        return isinstance(getattr(cause, "reason", cause), NewConnectionError)  # refused, DNS
    return False
