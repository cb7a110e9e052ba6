"""Twilio webhook signatures, checked with twilio's own RequestValidator.

The URL Twilio signed is PUBLIC_BASE_URL + the path (and query), not what the proxy in front of
us rewrote it to; with no auth token configured nothing is accepted.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlparse

from twilio.request_validator import RequestValidator, add_port, compare, remove_port


def signed_url(public_base_url: str, full_path: str) -> str:
    return public_base_url.rstrip("/") + full_path


class _Validator(RequestValidator):
    """twilio's RequestValidator, which accepts a signature made over the URL with or without
    its port; this one computes the second only when the first does not match (twilio's
    computes both every time). A JSON body's bodySHA256 check is twilio's own, unchanged."""

    def validate(self, uri, params, signature, algorithm=None):
        if algorithm is not None or isinstance(params, str) or "bodySHA256" in uri:
            return super().validate(uri, params, signature, algorithm)
        parsed = urlparse(uri)
        return (compare(self.compute_signature(remove_port(parsed), params), signature)
                or compare(self.compute_signature(add_port(parsed), params), signature))


@lru_cache(maxsize=8)
def _validator(auth_token: str) -> _Validator:
    return _Validator(auth_token)


def valid(auth_token: str | None, url: str, params: dict, signature: str | None) -> bool:
    if not auth_token or not signature:
        return False
    return _validator(auth_token).validate(url, params, signature)


def sign(auth_token: str, url: str, params: dict) -> str:
    """The X-Twilio-Signature Twilio would send (for the simulator and tests)."""
    return RequestValidator(auth_token).compute_signature(url, params)
