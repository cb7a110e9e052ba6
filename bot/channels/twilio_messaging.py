"""SMS and WhatsApp through Twilio's Messaging REST API (one adapter, `whatsapp:` prefix).

Errors come back typed: `RetryLater` for rate limits, server errors and network trouble,
`Failed(permanent=True)` for what a retry cannot fix (21610: the person texted STOP to Twilio).
"""
from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .base import Failed, Outgoing, Result, RetryLater, Sent

RETRYABLE_CODES = {20429, 30001}  # too many requests; queue overflow
UNSUBSCRIBED = 21610  # the recipient replied STOP to this sender on Twilio's side
DEFAULT_RETRY_AFTER = 30.0  # seconds, when Twilio says to wait but not for how long
TIMEOUT = 10.0  # seconds for one REST call


def address(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


class TwilioMessagingAdapter:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, sms_from: str | None,
                 whatsapp_from: str | None, api_base: str | None = None):
        http = TwilioHttpClient(timeout=TIMEOUT)
        custom = bool(api_base) and api_base.rstrip("/") != "https://api.twilio.com"
        # a custom API base (the test double) must not be rewritten by TWILIO_REGION/EDGE
        # or sent through an HTTP proxy from the environment
        self.client = Client(account_sid, auth_token, http_client=http)
        if custom:
            self.client.region = self.client.edge = None
            http.session.trust_env = False
            self.client.api.base_url = api_base
        self.senders = {"sms": sms_from, "whatsapp": whatsapp_from}

    def send(self, msg: Outgoing) -> Result:
        sender = self.senders.get(msg.channel)
        if not sender:
            return Failed(code=None, reason=f"no {msg.channel} sender is configured")
        params = dict(to=address(msg.channel, msg.to), from_=address(msg.channel, sender),
                      body=msg.body)
        if msg.status_callback:
            params["status_callback"] = msg.status_callback
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as e:
            return classify(e.status, e.code, e.msg)
        except (TwilioException, requests.RequestException):  # refused, timed out, garbled
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
        return Sent(sid=created.sid)

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


def classify(status: int, code: int | None, reason: str = "") -> Result:
    """A Twilio REST error as a typed result."""
    if status == 429 or code in RETRYABLE_CODES or status >= 500:
        return RetryLater(after=DEFAULT_RETRY_AFTER, code=code)
    return Failed(code=code, permanent=True, reason=str(reason or ""))
