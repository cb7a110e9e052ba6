"""The webhook URLs a call carries: PUBLIC_BASE_URL + path, with the call's id and its try (or
its conversation step) in the query, so every request Twilio signs names the call it is about,
even one that beat our own record of its CallSid."""
from __future__ import annotations

from bot import runtime
from bot.store.models import Call

VOICE = "/twilio/voice"
GATHER = "/twilio/voice/gather"
RECORD = "/twilio/voice/record"
STATUS = "/twilio/voice/status"
AMD = "/twilio/voice/amd"
PROMPTS = "/ivr/prompts"  # recorded prompts, served from ivr/prompts/


def _url(rt: runtime.Runtime, path: str, **query) -> str:
    return rt.settings.public_base_url + path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def voice(rt: runtime.Runtime, call: Call, attempt: int) -> str:
    return _url(rt, VOICE, call=call.id, attempt=attempt)


def status(rt: runtime.Runtime, call: Call, attempt: int) -> str:
    return _url(rt, STATUS, call=call.id, attempt=attempt)


def amd(rt: runtime.Runtime, call: Call, attempt: int) -> str:
    return _url(rt, AMD, call=call.id, attempt=attempt)


def gather(rt: runtime.Runtime, call: Call, step: int) -> str:
    return _url(rt, GATHER, call=call.id, step=step)


def record(rt: runtime.Runtime, call: Call, step: int, empty: bool = False) -> str:
    return _url(rt, RECORD, call=call.id, step=step, **({"empty": 1} if empty else {}))


def prompts_base(rt: runtime.Runtime) -> str:
    return (rt.settings.prompts_url or rt.settings.public_base_url + PROMPTS).rstrip("/")
