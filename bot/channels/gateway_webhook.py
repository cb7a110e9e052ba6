"""What a gateway's requests to /sms/<name>/receive and /sms/<name>/status say, and whether
they really come from it.

`verified` checks the channel's shared token (`?token=` or `Authorization: Bearer`) and, when the
channel signs, the HMAC of the raw body (SMS Gateway for Android signs body + X-Timestamp with
HMAC-SHA256, hex, in X-Signature) with a fresh timestamp. `incoming` reads a message: sender,
text, and the id it is deduplicated on (the gateway's id; without one, a hash of sender, text and
the gateway's date, or the minute it arrived). `report` reads a delivery report. Pure functions of
the request's parts: the web layer does the I/O.
"""
from __future__ import annotations

import base64
import hashlib
import hmac as hmaclib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import parse_qs

from .gateway import code_of, dig, provider_sid
from .gateway_config import Gateway, Receive


class Malformed(ValueError):
    """A request that came from the gateway but cannot be read (answered 400)."""


@dataclass(frozen=True)
class Inbound:
    sid: str  # provider_sid: "<channel>:<gateway id>" or "<channel>:h<hash>"
    sender: str  # as the gateway wrote it; the caller normalises it to E.164
    text: str


@dataclass(frozen=True)
class Report:
    status: str  # ours: queued | sent | delivered | undelivered | failed
    sid: str | None = None  # the gateway's id, as stored (provider_sid)
    ref: str | None = None  # our message id, when the gateway reports by it
    error_code: int | None = None


def verified(receive: Receive | None, body: bytes, query: Mapping[str, str],
             headers: Mapping[str, str], now: float) -> bool:
    """True when the request carries the channel's token and, if it signs, a good fresh HMAC.
    A channel with no `receive` section accepts nothing."""
    if receive is None:
        return False
    if receive.token is not None:
        auth = headers.get("Authorization") or ""
        given = query.get("token") or (auth[7:].strip() if auth[:7].lower() == "bearer " else "")
        if not given or not hmaclib.compare_digest(given.encode("utf-8", "replace"),
                                                   receive.token.encode()):
            return False
    h = receive.hmac
    if h is not None:
        signature = (headers.get(h.header) or "").strip()
        message = body
        if h.timestamp is not None:
            stamp = (headers.get(h.timestamp) or "").strip()
            if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12 or abs(now - int(stamp)) > h.max_age:
                return False
            message = body + stamp.encode()
        digest = hmaclib.new(h.key.encode(), message, h.algorithm).digest()
        expected = digest.hex() if h.encoding == "hex" else base64.b64encode(digest).decode()
        given = (signature.lower() if h.encoding == "hex" else signature).encode("utf-8", "replace")
        if not signature or not hmaclib.compare_digest(given, expected.encode()):
            return False
    return True


def fields(body: bytes, content_type: str | None, fmt: str | None):
    """The request's fields: parsed JSON, or the form (first value of each field)."""
    as_json = fmt == "json" or (fmt is None and "json" in (content_type or "").lower())
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    if as_json:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested without end
            raise Malformed("the body is not JSON") from None
        if not isinstance(data, dict):
            raise Malformed("the JSON body is not an object")
        return data
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def incoming(gateway: Gateway, body: bytes, content_type: str | None,
             now: datetime) -> Inbound | None:
    """The message in a receive request; None for an event the channel does not act on."""
    r = gateway.receive
    data = fields(body, content_type, r.format)
    if r.only_path is not None and str(dig(data, r.only_path)) not in r.only_values:
        return None
    sender, text = dig(data, r.fields["from"]), dig(data, r.fields["text"])
    if not isinstance(sender, (str, int)) or not str(sender).strip():
        raise Malformed(f"no sender at {r.fields['from']!r}")
    if text is None:
        text = ""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)  # a gateway that sends "1" as a JSON number
    if not isinstance(text, str):
        raise Malformed(f"the text at {r.fields['text']!r} is not a string")
    sender = str(sender).strip()
    raw_id = dig(data, r.fields["id"])
    if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and str(raw_id).strip():
        return Inbound(provider_sid(gateway.name, str(raw_id).strip()), sender, text)
    # no id: the same sender, text and time is the same message (a gateway's retry)
    date = dig(data, r.fields["date"])
    when = str(date) if date not in (None, "") else \
        now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")
    digest = hashlib.sha256(f"{sender}\n{text}\n{when}".encode("utf-8", "surrogatepass")
                            ).hexdigest()[:32]
    return Inbound(provider_sid(gateway.name, "h" + digest), sender, text)


def report(gateway: Gateway, body: bytes, content_type: str | None) -> Report | None:
    """The delivery report in a status request; None for a status word the channel does not map."""
    st = gateway.status
    data = fields(body, content_type, st.format)
    word = dig(data, st.status)
    status = st.statuses.get(str(word)) if word is not None else None
    if status is None:
        return None
    code = code_of(dig(data, st.error)) if st.error else None
    raw_id, ref = dig(data, st.id), dig(data, st.ref)
    if raw_id not in (None, ""):
        return Report(status, sid=provider_sid(gateway.name, str(raw_id)), error_code=code)
    if ref not in (None, ""):
        return Report(status, ref=str(ref), error_code=code)
    raise Malformed("a delivery report without the message's id")
