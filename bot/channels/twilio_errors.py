"""What Twilio's error codes mean for a send: retry it, give up, or something more specific.

One table for REST errors (`messages.create`, `calls.create`) and delivery errors (`ErrorCode`
in a status callback). Codes not listed: a REST 429 or 5xx is retried, any other 4xx is
permanent, and an unlisted delivery error is permanent. https://www.twilio.com/docs/api/errors/<code>
"""
from __future__ import annotations

from .base import OPTED_OUT, OUTSIDE_SESSION  # permanent, with a cause the outbox acts on

RETRY = "retry"  # try again later, with backoff
PERMANENT = "permanent"  # a retry cannot fix it

CODES: dict[int, tuple[str, str]] = {
    # REST errors
    20429: (RETRY, "Too Many Requests: the account's API concurrency limit"),
    20500: (RETRY, "Internal server error at Twilio"),
    20503: (RETRY, "Service unavailable at Twilio"),
    30001: (RETRY, "Queue overflow: too many messages queued for this sender"),
    21211: (PERMANENT, "Invalid 'To' phone number"),
    21408: (PERMANENT, "Permission to send to this region is not enabled on the account"),
    21606: (PERMANENT, "The 'From' number cannot send to this destination"),
    21610: (OPTED_OUT, "The recipient replied STOP to this sender (Twilio blocks all sends)"),
    21612: (PERMANENT, "Twilio cannot route to this number"),
    21614: (PERMANENT, "'To' is not a valid mobile number (e.g. a landline)"),
    63016: (OUTSIDE_SESSION, "WhatsApp free-form message outside the 24-hour window"),
    # REST errors of the Calls API
    13224: (PERMANENT, "Twilio does not support calling this number, or it is invalid"),
    21214: (PERMANENT, "'To' phone number cannot be reached"),
    21215: (PERMANENT, "The account's geographic permissions do not allow calling this number"),
    21216: (PERMANENT, "Calls to this number are blocked"),
    21217: (PERMANENT, "Phone number does not appear to be valid (a call)"),
    21220: (PERMANENT, "The call is not in progress: it cannot be changed"),
    # delivery errors (status callback ErrorCode)
    30003: (RETRY, "Unreachable handset: phone off or out of coverage; it may come back"),
    30005: (PERMANENT, "Unknown destination handset: the number does not exist"),
    30006: (PERMANENT, "Landline or unreachable carrier"),
    30007: (PERMANENT, "Filtered by the carrier as spam; the same text would be filtered again"),
    30008: (RETRY, "Unknown error from the carrier"),
    63003: (PERMANENT, "Not a WhatsApp user"),
    63024: (PERMANENT, "Invalid WhatsApp message recipient"),
}


def kind(code: int | None, http_status: int | None = None) -> str:
    """RETRY, PERMANENT, OPTED_OUT or OUTSIDE_SESSION for a REST error (with its HTTP status)
    or a delivery error (without one)."""
    if code in CODES:
        return CODES[code][0]
    if http_status is not None and (http_status == 429 or http_status >= 500):
        return RETRY
    return PERMANENT
