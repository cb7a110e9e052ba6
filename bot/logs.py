"""Logging that never holds a whole phone number or a token, as text or as JSON lines.

Every process (web, worker, cron, CLI) calls `setup()`; SATHI_LOG_FORMAT=json writes one JSON
object a line for a log collector (journald, Loki, CloudWatch...), text otherwise. Masking is
the formatter's last step either way, tracebacks included. Message bodies are never logged by
the code, and SQL errors carry no row values (store/db.py: hide_parameters).
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

_LONG_NUMBER = re.compile(r"(?<![\w])(\+?\d{3})\d{4,}(\d{3})(?!\d)")
_TOKENS = re.compile(r"(?i)(auth[_ ]?token|token|api[_-]?key|api[_-]?secret|secret|password"
                     r"|signature)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",&]+")


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


class JsonFormatter(RedactingFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, process, message and,
    when there is one, the exception with its traceback; masked as the text format is."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                 .isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "process": record.process,
                 "message": redact(record.getMessage())}
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter(kind: str = "text") -> logging.Formatter:
    """The formatter SATHI_LOG_FORMAT names: "json", or "text"."""
    return JsonFormatter() if kind == "json" else RedactingFormatter(TEXT_FORMAT)


def setup(level: int = logging.INFO, kind: str | None = None,
          handler: logging.Handler | None = None) -> None:
    """Redacted logging for every process: web (create_app), worker, cron and the CLI.
    `kind` defaults to SATHI_LOG_FORMAT; `handler` to stderr."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, RedactingFormatter) for h in root.handlers):
        return
    if kind is None:
        from .config import Settings

        kind = Settings.from_env().log_format
    handler = handler or logging.StreamHandler()
    handler.setFormatter(formatter(kind))
    root.addHandler(handler)
    root.setLevel(level)
    # twilio's HTTP client logs whole requests at INFO
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
