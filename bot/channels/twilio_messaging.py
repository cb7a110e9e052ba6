"""SMS and WhatsApp through Twilio's Messaging REST API (one adapter, `whatsapp:` prefix).

Errors come back typed (see twilio_errors.CODES): `RetryLater` for rate limits, server
errors and a request that never reached Twilio (refused, DNS, connect timeout), `Failed` for
what a retry cannot fix, with a cause when the outbox can still act on it (21610: opted out;
63016: outside WhatsApp's 24-hour session), and `Unknown` when the request went out and no
answer came back (read timeout, connection reset): Twilio may have taken it. `lookup` asks
Twilio's Messages list (filtered by To, From and DateSent) whether it did.
A `Template` is sent as ContentSid + ContentVariables instead of a body.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from . import twilio_errors
from .base import (
    OPTED_OUT,
    OUTSIDE_SESSION,
    Failed,
    Outgoing,
    Result,
    RetryLater,
    Sent,
    Unknown,
    never_arrived,
)

DEFAULT_RETRY_AFTER = 30.0  # seconds, when Twilio says to wait but not for how long
TIMEOUT = 10.0  # seconds for one REST call
LOOKUP_LIMIT = 50  # messages read back (one page) when looking up a send whose answer was lost


def address(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


class TwilioMessagingAdapter:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, sms_from: str | None,
                 whatsapp_from: str | None, api_base: str | None = None):
        http = TwilioHttpClient(timeout=TIMEOUT)  # no retries of its own: a POST is not idempotent
        custom = bool(api_base) and api_base.rstrip("/") != "https://api.twilio.com"
        # a custom API base (the test double) must not be rewritten by TWILIO_REGION/EDGE
        # or sent through an HTTP proxy from the environment
        self.client = Client(account_sid, auth_token, http_client=http)
        if custom:
            self.client.region = self.client.edge = None
            http.session.trust_env = False
            self.client.api.base_url = api_base
        self.senders = {"sms": sms_from, "whatsapp": whatsapp_from}

    def sender(self, channel: str) -> str | None:
        number = self.senders.get(channel)
        return address(channel, number) if number else None

    def send(self, msg: Outgoing) -> Result:
        sender = self.senders.get(msg.channel)
        if not sender:
            return Failed(code=None, reason=f"no {msg.channel} sender is configured")
        params = dict(to=address(msg.channel, msg.to), from_=address(msg.channel, sender))
        if msg.template is not None:
            params.update(content_sid=msg.template.sid,
                          content_variables=json.dumps(msg.template.variables,
                                                       ensure_ascii=False))
        else:
            params["body"] = msg.body
        if msg.status_callback:
            params["status_callback"] = msg.status_callback
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as e:
            return classify(e.status, e.code, e.msg)
        except requests.RequestException as e:
            if never_arrived(e):
                return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
            return Unknown(reason=type(e).__name__)  # it went out; the answer did not come
        except TwilioException as e:  # an answer we could not read: Twilio may have taken it
            return Unknown(reason=type(e).__name__)
        return Sent(sid=created.sid)

    def lookup(self, msg: Outgoing, since: datetime) -> list[str] | RetryLater:
        sender = self.senders.get(msg.channel)
        if not sender:
            return []
        try:
            found = self.client.messages.list(
                to=address(msg.channel, msg.to), from_=address(msg.channel, sender),
                # Twilio filters by the day (GMT); the exact time is compared below
                date_sent_after=(since - timedelta(days=1)).strftime("%Y-%m-%d"),
                limit=LOOKUP_LIMIT)
        except (TwilioException, requests.RequestException):
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
        alike = [m for m in found
                 if m.date_created is not None and m.date_created >= since
                 and (msg.template is not None or (m.body or "") == msg.body)]
        return [m.sid for m in sorted(alike, key=lambda m: m.date_created)]

    def delivery_failure(self, code: int | None) -> RetryLater | Failed:
        return _typed(twilio_errors.kind(code), code, "")

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


def classify(status: int, code: int | None, reason: str = "") -> Result:
    """A Twilio REST error as a typed result."""
    return _typed(twilio_errors.kind(code, status), code, str(reason or ""))


def _typed(kind: str, code: int | None, reason: str) -> RetryLater | Failed:
    if kind == twilio_errors.RETRY:
        return RetryLater(after=DEFAULT_RETRY_AFTER, code=code)
    cause = kind if kind in (OPTED_OUT, OUTSIDE_SESSION) else ""
    return Failed(code=code, permanent=True, reason=reason, cause=cause)
