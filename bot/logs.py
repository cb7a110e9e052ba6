"""Logging that never holds a whole phone number or a token."""
from __future__ import annotations

import logging
import re

_LONG_NUMBER = re.compile(r"(?<![\w])(\+?\d{3})\d{4,}(\d{3})(?!\d)")
_TOKENS = re.compile(r"(?i)(auth[_ ]?token|password|signature)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",]+")


def mask(phone: str | None) -> str:
    """'+8801711000001' -> '+880…001': enough to tell two people apart in a log."""
    if not phone:
        return "-"
    digits = phone.removeprefix("whatsapp:")
    return f"{digits[:4]}…{digits[-3:]}" if len(digits) > 7 else "…"


def redact(text: str) -> str:
    return _TOKENS.sub(r"\1\2[redacted]", _LONG_NUMBER.sub(r"\1…\2", text))


class RedactingFilter(logging.Filter):
    """Last line of defence: masks long digit runs and token values in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        root.addHandler(handler)
    root.setLevel(level)
    # twilio's HTTP client logs whole requests at INFO
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
