"""Which provider carries an outbound message, chosen when it is first sent.

- A message that went out once keeps its provider: a retry goes the way the first try went.
- WhatsApp goes by Twilio.
- An SMS goes on the channel the person last wrote in on, when that channel can still send, so a
  teacher who texts the local gateway's number is answered from it;
- else on the channel of the channels file that serves the number (its longest matching prefix;
  on a tie, the one written first);
- else by Twilio, or into the local outbox when no Twilio account is configured.

The choice is written on the message (`Message.provider`), so a delivery report is read by the
adapter that sent it. Each provider has its own sender rate: a gateway's `rate`, or
SATHI_SMS_RATE / SATHI_WHATSAPP_RATE for Twilio.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..channels.base import Adapter
from ..store.models import Message


@dataclass(frozen=True)
class Route:
    provider: str
    adapter: Adapter
    sender: str | None  # the address whose rate is limited; None: nothing limits it
    rate: float  # messages per second (0: no limit)
    status_callback: str | None  # Twilio's per-message StatusCallback; gateways have theirs set up


def route(rt, db: Session, msg: Message, known: dict | None = None) -> Route:
    """The provider for `msg`, with its adapter, sender and rate; the caller writes it on the
    message (outbox writes it with its claim). `known`: what one job has already looked up
    for the same person (their last inbound provider), so a turn's replies ask once."""
    provider = provider_for(rt, db, msg, known)
    adapter = rt.adapter(msg.channel, provider)
    gateway = rt.gateways.get(provider)
    if gateway is not None:
        rate = gateway.rate if gateway.rate is not None else rt.settings.sms_rate
    else:
        rate = rt.settings.whatsapp_rate if msg.channel == "whatsapp" else rt.settings.sms_rate
    callback = rt.status_callback_url() if provider == "twilio" and not rt.offline else None
    return Route(provider, adapter, adapter.sender(msg.channel), rate, callback)


def provider_for(rt, db: Session, msg: Message, known: dict | None = None) -> str:
    if msg.provider is not None and sends(rt, msg.provider):
        return msg.provider
    if msg.channel != "sms":
        return rt.default_provider
    who = last_in_key(msg)
    if known is not None and who in known:
        last = known[who]
    else:
        last = db.execute(
            select(Message.provider).where(
                Message.person_id == msg.person_id if msg.person_id is not None
                else Message.address == msg.address,
                Message.direction == "in", Message.channel == "sms")
            .order_by(Message.id.desc()).limit(1)).scalar()
        if known is not None:
            known[who] = last
    if last is not None and sends(rt, last):
        return last
    return serving(rt, msg.address) or rt.default_provider


def last_in_key(msg: Message) -> tuple:
    """Whose last message in `provider_for` looks for: `known`'s key."""
    return ("person", msg.person_id) if msg.person_id is not None else ("address", msg.address)


def serving(rt, number: str) -> str | None:
    """The channel of the channels file that serves `number`, if any."""
    best, length = None, 0
    for name, gateway in rt.gateways.items():
        n = gateway.serves(number)
        if n > length:
            best, length = name, n
    return best


def sends(rt, provider: str) -> bool:
    """True when `provider` can carry a message now: a configured gateway, or the default."""
    return provider in rt.gateways or provider == rt.default_provider
