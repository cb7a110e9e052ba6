"""The adapter used when no provider is configured: the message stays in the local outbox.

`sathi serve` on its embedded defaults and `sathi simulate` use it, so the whole path (inbound
record, worker, outbox) runs without a Twilio account. The message row is the only record.
Nothing leaves, so nothing is rate limited (`sender` is None).
"""
from __future__ import annotations

import uuid
from datetime import datetime

from .base import Failed, Outgoing, Sent


class LoopbackAdapter:
    name = "loopback"

    def send(self, msg: Outgoing) -> Sent:
        return Sent(sid="LB" + uuid.uuid4().hex)

    def lookup(self, msg: Outgoing, since: datetime) -> list[str]:
        return []  # nothing left the machine: a send that was cut short did not happen

    def sender(self, channel: str) -> None:
        return None

    def delivery_failure(self, code: int | None) -> Failed:
        return Failed(code=code)
