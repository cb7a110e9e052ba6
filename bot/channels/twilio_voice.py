"""Voice calls through Twilio's Calls REST API: place a call, fetch its state, change a live one.

Like twilio_messaging.py, the adapter only types Twilio's answers (twilio_errors.CODES):
`Sent(sid)` when Twilio took the call, `RetryLater` for rate limits, server errors and a request
that never reached Twilio, `Unknown` when the request went out and no answer came (Twilio may
have placed the call: it is never placed again blind), `Failed` for what a retry cannot fix (an
invalid or unreachable number, a country the account may not call). When to try again, and whom to stop calling, is `ivr/dialer.py`'s policy.

A call carries three webhooks, all signed by Twilio: `url` (the TwiML when it is answered),
`status_callback` (initiated, ringing, answered, completed) and, with answering machine
detection on, `amd_callback` (asynchronous AMD: the call goes ahead while Twilio listens).
"""
from __future__ import annotations

from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .base import Failed, Result, RetryLater, Sent, Unknown
from .twilio_messaging import DEFAULT_RETRY_AFTER, TIMEOUT, classify, never_arrived

RING_SECONDS = 30  # how long a call rings before it counts as no-answer
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]  # status callbacks asked for
AMD_MODES = ("Enable", "DetectMessageEnd")  # Enable: decide fast (hang up on a machine);
# DetectMessageEnd: wait for the greeting's end, to leave a message after the beep


@dataclass(frozen=True)
class OutgoingCall:
    to: str  # E.164
    url: str  # the TwiML when answered
    status_callback: str
    amd_callback: str | None = None  # None: no answering machine detection
    machine_detection: str = "Enable"  # one of AMD_MODES


@dataclass(frozen=True)
class CallState:
    """What a fetch says about a call."""

    sid: str
    status: str  # queued | ringing | in-progress | completed | busy | no-answer | failed | canceled
    duration: int | None = None  # seconds, once it ended
    answered_by: str | None = None  # human | machine_start | machine_end_beep | ... | fax | unknown


class TwilioVoiceAdapter:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, caller: str | None,
                 api_base: str | None = None):
        http = TwilioHttpClient(timeout=TIMEOUT)
        self.client = Client(account_sid, auth_token, http_client=http)
        if api_base and api_base.rstrip("/") != "https://api.twilio.com":
            # the test double: no TWILIO_REGION/EDGE rewriting, no proxy from the environment
            self.client.region = self.client.edge = None
            http.session.trust_env = False
            self.client.api.base_url = api_base
        self.caller = caller

    def sender(self) -> str | None:
        """The number calls come from (one call rate per number, shared by all workers)."""
        return self.caller

    def call(self, out: OutgoingCall) -> Result:
        if not self.caller:
            return Failed(code=None, reason="no caller number is configured (TWILIO_VOICE_FROM)")
        params = dict(to=out.to, from_=self.caller, url=out.url, method="POST",
                      status_callback=out.status_callback, status_callback_method="POST",
                      status_callback_event=STATUS_EVENTS, timeout=RING_SECONDS)
        if out.amd_callback:
            params.update(machine_detection=out.machine_detection, async_amd="true",
                          async_amd_status_callback=out.amd_callback,
                          async_amd_status_callback_method="POST")
        try:
            created = self.client.calls.create(**params)
        except TwilioRestException as e:
            return classify(e.status, e.code, e.msg)
        except requests.RequestException as e:
            if never_arrived(e):
                return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
            return Unknown(reason=type(e).__name__)  # it went out; the answer did not come
        except TwilioException as e:  # an answer we could not read: Twilio may have taken it
            return Unknown(reason=type(e).__name__)
        return Sent(sid=created.sid)

    def fetch(self, sid: str) -> CallState | RetryLater | Failed:
        try:
            c = self.client.calls(sid).fetch()
        except TwilioRestException as e:
            return classify(e.status, e.code, e.msg)
        except (TwilioException, requests.RequestException):
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
        return CallState(sid=c.sid, status=str(c.status),
                         duration=int(c.duration) if c.duration not in (None, "") else None,
                         answered_by=c.answered_by)

    def redirect(self, sid: str, twiml: str) -> Result:
        """Replace what a live call is doing with `twiml` (a message for a voicemail box)."""
        try:
            self.client.calls(sid).update(twiml=twiml)
        except TwilioRestException as e:
            return classify(e.status, e.code, e.msg)
        except (TwilioException, requests.RequestException):
            return RetryLater(after=DEFAULT_RETRY_AFTER, code=None)
        return Sent(sid=sid)

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


class NoVoiceAdapter:
    """No Twilio account: nothing can be called. Every call fails at once, and says why."""

    name = "none"
    REASON = "no voice provider: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_VOICE_FROM"

    def sender(self) -> None:
        return None

    def call(self, out: OutgoingCall) -> Failed:
        return Failed(code=None, reason=self.REASON)

    def fetch(self, sid: str) -> Failed:
        return Failed(code=None, reason=self.REASON)

    def redirect(self, sid: str, twiml: str) -> Failed:
        return Failed(code=None, reason=self.REASON)
