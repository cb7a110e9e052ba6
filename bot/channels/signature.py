"""Twilio webhook signatures, checked with twilio's own RequestValidator.

The URL Twilio signed is PUBLIC_BASE_URL + the path (and query), not what the proxy in front of
us rewrote it to; with no auth token configured nothing is accepted.
"""
from __future__ import annotations

from twilio.request_validator import RequestValidator


def signed_url(public_base_url: str, full_path: str) -> str:
    return public_base_url.rstrip("/") + full_path


def valid(auth_token: str | None, url: str, params: dict, signature: str | None) -> bool:
    if not auth_token or not signature:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def sign(auth_token: str, url: str, params: dict) -> str:
    """The X-Twilio-Signature Twilio would send (for the simulator and tests)."""
    return RequestValidator(auth_token).compute_signature(url, params)
