"""The adapter used when no provider is configured: the message stays in the local outbox.

`sathi serve` on its embedded defaults and `sathi simulate` use it, so the whole path (inbound
record, worker, outbox) runs without a Twilio account. The message row is the only record.
"""
from __future__ import annotations

import uuid

from .base import Outgoing, Sent


class LoopbackAdapter:
    name = "loopback"

    def send(self, msg: Outgoing) -> Sent:
        return Sent(sid="LB" + uuid.uuid4().hex)
