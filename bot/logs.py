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


# a phone-like number in a message: 7 or more digits in either script, with spaces, dots or
# dashes allowed between them ("017 1100 0001", "০১৭১১-০০০০০১")
_PHONE_IN_TEXT = re.compile(r"\+?[0-9\u09e6-\u09ef](?:[\s.\-]*[0-9\u09e6-\u09ef]){6,}")


def mask_numbers(text: str) -> str:
    """A message's text with every phone-like number replaced by "…"; short numbers stay."""
    return _PHONE_IN_TEXT.sub("…", text or "")


def redact(text: str) -> str:
    return _TOKENS.sub(r"\1\2[redacted]", _LONG_NUMBER.sub(r"\1…\2", text))


class RedactingFormatter(logging.Formatter):
    """Last line of defence: masks long digit runs and token values in every formatted line,
    tracebacks included. A formatter, not a filter, so the shared record is left untouched."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup(level: int = logging.INFO) -> None:
    """Redacted logging for every process: web (create_app), worker, cron and the CLI."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, RedactingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    # twilio's HTTP client logs whole requests at INFO
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
