"""What a webhook hands in, checked and cleaned before anything is recorded, for any channel.

A provider's webhook (Twilio's in web.py; a local SMS gateway's next) reads its own form and
calls `incoming` or `status_report`; what they return can always be stored, so a database
error after them means the database is in trouble, never that the input was bad (see
spool.storage_down). Then it hands the result to `spool.take`, which records it or keeps it.

- Text is cleaned, not refused: NULs and other control characters are dropped (a newline or a
  tab stays) and a body is cut at MAX_BODY characters, Twilio's own limit.
- An envelope field that cannot be cleaned into shape (a provider id or a sender that is far
  too long, a status that is no status, an error code that is not a number) raises
  `Rejected`: the webhook answers 400 and records nothing. A real provider never sends one.
- A sender that is not a phone number is recorded as given; nothing is ever sent to it
  (`contacts.phones.is_e164`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from ..contacts.phones import InvalidPhone, e164
from .inbound import Incoming, Media

MAX_BODY = 1600  # characters in one message body, as Twilio allows; the rest is kept out
MAX_SID = 64  # characters of a provider's message id (Message.provider_sid)
MAX_ADDRESS = 40  # characters of a sender address (Message.address)
MAX_MEDIA = 10  # media items on one message (Twilio's limit); more are dropped
MAX_URL = 2000  # characters of one media URL; a longer one is dropped
MAX_TYPE = 100  # characters of a media content type
MAX_ERROR_CODE = 999_999  # provider error codes are numbers of at most six digits
WHATSAPP = "whatsapp:"  # Twilio's prefix of a WhatsApp address

_SID = re.compile(r"[A-Za-z0-9._:-]{1,%d}" % MAX_SID)
_STATUS = re.compile(r"[a-z_]{1,16}")  # Message.status and DeliveryAttempt.status hold 16
LONG_STATUSES = {"partially_delivered"}  # Twilio's own, longer than 16: stored cut short
_KEEP = {"\n", "\r", "\t"}


class Rejected(ValueError):
    """A webhook field that cannot be cleaned into shape: answer 400, record nothing."""


@dataclass(frozen=True)
class StatusReport:
    """A provider's word on a message it took: delivered, undelivered (with a code), read..."""

    sid: str
    status: str
    error_code: int | None
    received_at: datetime | None = None
    ref: int | None = None  # our message id, when a gateway reports by it (sid: "<gw>:ref-<id>")


def clean(text: str | None, limit: int | None = None) -> str:
    """`text` without NULs and other control characters (newlines and tabs stay), cut at
    `limit` characters. Half a UTF-16 pair (JSON may escape one: "\\ud83d" of a cut emoji)
    becomes U+FFFD: no database and no UTF-8 file can hold it."""
    text = text or ""
    if not text.isprintable():
        text = "".join(ch if unicodedata.category(ch) != "Cs" else "\ufffd" for ch in text
                       if ch in _KEEP or unicodedata.category(ch) != "Cc")
    return text[:limit] if limit is not None else text


def provider_sid(value: str | None) -> str:
    sid = clean(value).strip()
    if not _SID.fullmatch(sid):
        raise Rejected("missing or malformed message id")
    return sid


def sender(value: str | None) -> tuple[str, str]:
    """(channel, address) of a sender: E.164 when it is a phone number, else as given."""
    raw = clean(value).strip()
    channel = "whatsapp" if raw.startswith(WHATSAPP) else "sms"
    raw = raw.removeprefix(WHATSAPP).strip()
    if not raw:
        raise Rejected("missing sender")
    try:
        return channel, e164(raw)
    except InvalidPhone:
        if len(raw) > MAX_ADDRESS:
            raise Rejected("sender too long") from None
        return channel, raw  # recorded as given; no person matches it, nothing is sent to it


def media(items: list[tuple[str | None, str | None]]) -> tuple[Media, ...]:
    """(url, content type) pairs, cleaned; an item without a usable URL is dropped."""
    kept = []
    for url, kind in items[:MAX_MEDIA]:
        url, kind = clean(url).strip(), clean(kind).strip()[:MAX_TYPE]
        if url and len(url) <= MAX_URL:
            kept.append(Media(url=url, type=kind))
    return tuple(kept)


def incoming(*, sid: str | None, sender_address: str | None, body: str | None,
             received_at: datetime, media_items: tuple[Media, ...] = ()) -> Incoming:
    """One inbound message, ready to record."""
    channel, address = sender(sender_address)
    return Incoming(sid=provider_sid(sid), channel=channel, sender=address,
                    body=clean(body, MAX_BODY), received_at=received_at, media=media_items)


def error_code(value: str | None) -> int | None:
    value = clean(value).strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_ERROR_CODE:
        raise Rejected("error code is not a provider error code")
    return int(value)


def status_report(*, sid: str | None, status: str | None, code: str | None,
                  received_at: datetime | None, ref: int | None = None) -> StatusReport:
    status = (status or "").strip().lower()
    if not _STATUS.fullmatch(status) and status not in LONG_STATUSES:
        raise Rejected("missing or malformed status")
    if ref is not None and not (isinstance(ref, int) and 0 < ref < 2 ** 31):
        raise Rejected("malformed message id")
    return StatusReport(sid=provider_sid(sid), status=status, error_code=error_code(code),
                        received_at=received_at, ref=ref)
