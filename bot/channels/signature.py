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
        without_port, with_port = _forms_of(uri)
        if hasattr(params, "getlist") and not hasattr(params, "getall"):
            params = _Fields(params)
        return (compare(self.compute_signature(without_port, params), signature)
                or compare(self.compute_signature(with_port, params), signature))


@lru_cache(maxsize=64)
def _forms_of(uri: str) -> tuple[str, str]:
    """The URL without and with its port, as twilio's validator makes them (remove_port,
    add_port): the same few URLs (PUBLIC_BASE_URL + a webhook's path) every request."""
    parsed = urlparse(uri)
    return remove_port(parsed), add_port(parsed)


class _Fields:
    """A form with several values to a field (werkzeug's MultiDict) as twilio's validator reads
    one first: by `getall`. It asks for `getall`, then `getlist`, so a MultiDict, which has no
    `getall`, cost an AttributeError raised and caught for every field of every request."""

    __slots__ = ("_form", "getall")

    def __init__(self, form):
        self._form = form
        self.getall = form.getlist

    def __iter__(self):
        return iter(self._form)

    def __len__(self) -> int:
        return len(self._form)


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
