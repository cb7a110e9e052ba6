"""The console's phone simulator as a provider: what it is given is kept for the page, nothing
leaves the machine.

The simulator (bot/simulate.py) runs a turn through the same inbound record, worker jobs,
engine and outbox as a real message; only the adapter differs. An SMS or WhatsApp reply is
taken here (`Sent`, with a sid the simulator recognises) and then marked delivered through the
outbox's own status path; a call is "placed" here and answered by the page, which posts the
keys pressed to the same conversation code as Twilio's webhooks. Each message row keeps
provider "simulator", so the console's history shows which replies went only to the page.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from .base import Failed, Outgoing, Sent

NAME = "simulator"
SID_PREFIX = "SIM"  # every sid it gives starts so: the page acts only on its own messages and calls


def sid(kind: str = "SM") -> str:
    return f"{SID_PREFIX}{kind}{uuid.uuid4().hex}"


class SimulatorAdapter:
    """SMS and WhatsApp: taken at once, never sent; not rate limited (nothing leaves)."""

    name = NAME

    def __init__(self):
        self.taken: list[tuple[str, Outgoing]] = []  # (sid, message), in order, for the page

    def send(self, msg: Outgoing) -> Sent:
        result = Sent(sid=sid("SM"))
        self.taken.append((result.sid, msg))
        return result

    def lookup(self, msg: Outgoing, since: datetime) -> list[str]:
        return []  # nothing left the machine

    def sender(self, channel: str) -> None:
        return None

    def delivery_failure(self, code: int | None) -> Failed:
        return Failed(code=code)


class SimulatorVoiceAdapter:
    """Calls: "placed" at once; the page answers them (ivr's conversation, as the webhooks do)."""

    name = NAME

    def __init__(self):
        self.placed: list[tuple[str, object]] = []  # (sid, OutgoingCall)

    def sender(self) -> None:
        return None

    def call(self, out) -> Sent:
        result = Sent(sid=sid("CA"))
        self.placed.append((result.sid, out))
        return result

    def fetch(self, call_sid: str) -> Failed:
        return Failed(code=None, reason="a simulated call has no provider state")

    def redirect(self, call_sid: str, twiml: str) -> Failed:
        return Failed(code=None, reason="a simulated call cannot be redirected")
