"""SMS through a local HTTP gateway described in the channels file (gateway_config.py).

The adapter fills the channel's request with the message ({to}, {text}, {encoding}...), sends it
and types the answer as the channel says to read it: `Sent` with the gateway's id, `RetryLater`
for an HTTP status or an error code the channel lists as retryable (and for a gateway that cannot
be reached), `Unknown` when the request went out and no readable answer came (a timeout after
the gateway may have taken it, a 2xx page that is not the gateway's answer), `Failed` with the
code and reason for anything else. An unknown outcome is looked up (`lookup`, by the {id} we
gave the message, when the channel has a `lookup` section) before it is sent again. What
a result leads to is the outbox's decision. Text goes as it is: Bangla stays UTF-8 in the request
and the channel's {encoding} word (UNICODE, unicode...) tells the gateway to send it as UCS-2.
"""
from __future__ import annotations

from datetime import datetime

import hashlib
import json
import logging
import re
import uuid
from urllib.parse import quote

import phonenumbers
import requests

from ..logs import redact
from .base import OPTED_OUT, Failed, Outgoing, Result, RetryLater, Sent, Unknown, never_arrived
from .gateway_config import Gateway
from .segments import count

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 30.0  # seconds, when a gateway says to wait but not for how long
SID_MAX = 64  # the width of message.provider_sid
_SID_SAFE = re.compile(r"[A-Za-z0-9._:-]+")  # what a stored provider sid may hold (msgs/intake.py)
_PLACEHOLDER = re.compile(r"\{(" + "|".join(("to_no_plus", "to_local", "to", "text", "from", "id",
                                              "encoding")) + r")\}")


def provider_sid(name: str, raw: str) -> str:
    """How a gateway's id is stored: prefixed with the channel's name, so two gateways (and
    Twilio) can never clash on the unique (direction, provider_sid). A gateway's id is its own
    business: one too long, or with characters a stored sid does not hold (base64's + / =,
    spaces, Bengali digits), is stored as its digest ("<name>:.<hex>"), the same every time."""
    sid = f"{name}:{raw}"
    if len(sid) <= SID_MAX and _SID_SAFE.fullmatch(raw):
        return sid
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{name}:.{digest[:SID_MAX - len(name) - 2]}"


def dig(data, path: str | None):
    """The value at a dotted path in parsed JSON or a form (None when absent)."""
    if path is None:
        return None
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def code_of(value) -> int | None:
    """An error code as stored (an integer), or None when the gateway's code is a word."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else None


def listed(value, codes) -> bool:
    return value is not None and str(value) in {str(c) for c in codes}


class GatewayAdapter:
    """One configured gateway; see the module docstring."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.name = gateway.name
        self.session = requests.Session()

    def sender(self, channel: str) -> str:
        """What the channel's rate is kept under (one rate per channel)."""
        return f"gateway:{self.name}"

    def send(self, msg: Outgoing) -> Result:
        if msg.channel != "sms":
            return Failed(code=None, reason=f"channel {self.name} sends SMS only, not {msg.channel}")
        s = self.gateway.send
        values = self.variables(msg)
        url = _fill(s.url, values, quote_values=True)
        params = _fill(s.params, values)
        headers = _fill(s.headers, values)
        kwargs: dict = {"headers": headers, "timeout": s.timeout}
        if s.method == "GET":
            kwargs["params"] = _flat(params)
        elif s.format == "json":
            kwargs["json"] = params
        else:
            kwargs["data"] = _flat(params)
        if s.basic_auth:
            kwargs["auth"] = s.basic_auth
        try:
            resp = self.session.request(s.method, url, **kwargs)
        except requests.RequestException as e:
            if never_arrived(e):  # refused, no route: the gateway never saw it
                return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
            return Unknown(reason=type(e).__name__)  # it went out; the answer did not come
        if resp.status_code in self.gateway.answer.duplicate_status:
            return self.already_there(msg, resp.status_code)
        return self.read(resp.status_code, resp.text, msg.ref, msg.body)

    def already_there(self, msg: Outgoing, status: int) -> Result:
        """The gateway has a message with our id already (an earlier try landed after all):
        sent once, if it is ours; a message to someone else under our id is a failure."""
        found = self.lookup(msg, datetime.now())
        if isinstance(found, RetryLater):
            return Unknown(reason=f"HTTP {status}: our id is taken; cannot look it up now")
        if found:
            return Sent(sid=found[0])
        log.warning("gateway %s: our id %s is taken by another message", self.name, msg.ref)
        return Failed(code=status, reason="the message id is taken by another message")

    def lookup(self, msg: Outgoing, since: datetime) -> list[str] | RetryLater:
        """Whether the gateway has `msg`, asked by the {id} we sent it with (the channel's
        `lookup` section; SMS Gateway for Android: GET /messages/{id}): [its sid] when it has
        it (to the same recipient), [] when it says it has not (`missing_status`), RetryLater
        when it cannot say now. A channel without `lookup` (no aggregator we ship documents
        one) answers [] and the message is sent again: the teacher may get it twice, which the
        README names as a known limit."""
        lk = self.gateway.lookup
        if lk is None or not msg.ref:
            return []
        values = self.variables(msg)
        s = self.gateway.send
        kwargs: dict = {"headers": _fill(s.headers, values), "timeout": s.timeout}
        if s.basic_auth:
            kwargs["auth"] = s.basic_auth
        try:
            resp = self.session.request(lk.method, _fill(lk.url, values, quote_values=True),
                                        **kwargs)
        except requests.RequestException:
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
        if resp.status_code in lk.missing_status:
            return []
        if not 200 <= resp.status_code < 300:
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=resp.status_code)
        try:
            body = resp.json()
        except ValueError:
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=resp.status_code)
        if lk.to is not None and _national(str(dig(body, lk.to) or "")) != _national(msg.to):
            log.warning("gateway %s has a message with our id %s for someone else; it is not "
                        "ours", self.name, msg.ref)
            return []
        raw = dig(body, lk.id)
        return [provider_sid(self.name, str(raw) if raw not in (None, "") else f"ref-{msg.ref}")]

    def variables(self, msg: Outgoing) -> dict[str, str]:
        return {"to": msg.to, "to_no_plus": msg.to.removeprefix("+"), "to_local": _national(msg.to),
                "text": msg.body, "from": self.gateway.sender or "", "id": msg.ref or "",
                "encoding": self.gateway.send.encoding[count(msg.body).encoding]}

    def read(self, status: int, text: str, ref: str | None = None,
             body_sent: str | None = None) -> Result:
        """The gateway's answer (HTTP status and body) as a typed result. `body_sent`, the text
        we sent, is kept out of the log if the gateway quotes it back."""
        a = self.gateway.answer
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        value = dig(body, a.code)
        reason = str(dig(body, a.reason) or "") or (text or "")[:200]
        if status in a.retry_status:
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=code_of(value) or status)
        if 200 <= status < 300 and a.ok_path is not None and dig(body, a.ok_path) is None:
            # a 2xx that is not the gateway's answer (a proxy's page, an empty body): it may
            # or may not have the message; failing it for good could lose one it never took
            log.warning("gateway %s answered HTTP %s without its answer at %r", self.name,
                        status, a.ok_path)
            return Unknown(reason=f"HTTP {status} without {a.ok_path}")
        ok = 200 <= status < 300 and (a.ok_path is None or listed(dig(body, a.ok_path), a.ok_values))
        if ok:
            raw = dig(body, a.id)
            if raw not in (None, ""):
                return Sent(sid=provider_sid(self.name, str(raw)))
            return Sent(sid=provider_sid(self.name, f"ref-{ref}" if ref else uuid.uuid4().hex))
        if value is None:
            value = status
        log.warning("gateway %s refused a message (HTTP %s): %s %s", self.name, status, value,
                    _loggable(dig(body, a.reason), body_sent))
        if listed(value, a.retry):
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=code_of(value))
        if listed(value, a.opted_out):
            return Failed(code=code_of(value), reason=reason, cause=OPTED_OUT)
        return Failed(code=code_of(value), permanent=True, reason=reason)

    def delivery_failure(self, code: int | None) -> RetryLater | Failed:
        st = self.gateway.status
        if st is not None and listed(code, st.retry):
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=code)
        return Failed(code=code)

    def close(self) -> None:
        self.session.close()


def _loggable(reason, body_sent: str | None) -> str:
    """The gateway's reason as the log may hold it: only its `answer.reason` words (a raw page
    may quote anything back), without the text we sent, short, numbers and secrets masked."""
    if reason in (None, ""):
        return ""
    reason = str(reason)
    if body_sent:
        reason = reason.replace(body_sent, "…")
    return redact(reason[:120])


def _fill(value, values: dict[str, str], quote_values: bool = False):
    if isinstance(value, dict):
        return {k: _fill(v, values, quote_values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values, quote_values) for v in value]
    if isinstance(value, str):
        return _PLACEHOLDER.sub(
            lambda m: quote(values[m.group(1)], safe="") if quote_values else values[m.group(1)],
            value)
    return value


def _flat(params: dict) -> dict:
    """Form and query values are strings; a nested value goes as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in params.items()}


def _national(number: str) -> str:
    """+8801711000001 -> 01711000001: the number as dialled at home."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())

