"""`sathi digest preview`: exactly what a person's digest would say now, on SMS and on
WhatsApp, without sending or changing anything (the caller rolls the transaction back).

The digest's fields are written by the same code the campaign's preparation runs
(digest.py), then the flow is started by the pure engine and its messages rendered as a
turn renders them, so the preview cannot drift from what is sent.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..flows import engine
from ..flows.definition import Flow
from ..flows.events import MsgCreated
from ..store.models import Person
from . import digest

CHANNELS = ("sms", "whatsapp")  # what a preview shows, in this order


class NothingToPreview(LookupError):
    """The person gets no digest (a teacher), or has no area or school."""


def fields_for(db: Session, tools: digest.Tools, person: Person, week: str, now: datetime,
               channel: str) -> tuple[str, dict]:
    """(flow id, fields) of the digest `person` gets for `week` on `channel`."""
    try:
        if person.role in ("officer", "ambassador"):
            return "officer", digest.officer(db, tools, person, week, now, channel)
        if person.role == "headteacher":
            return "head_summary", digest.headteacher(db, tools, person, week, now, channel,
                                                      forward=False)
    except digest.NoSchools:
        raise NothingToPreview(f"no school on the roster is in the {person.role}'s area "
                               f"({person.upazila or '-'}, {person.district})") from None
    except digest.NoArea:
        raise NothingToPreview(f"{person.role} with no area or school") from None
    raise NothingToPreview(f"a {person.role} gets no digest")


def messages(flows: dict[str, Flow], catalogues, person: Person, flow_id: str, fields: dict,
             channel: str, now: datetime) -> list[str]:
    """The messages the flow says when it starts, as a turn would render them."""
    contact = {"name": person.name, "role": person.role, "language": person.language,
               "channel": person.channel}
    fields = {"week": fields.get("digest_week", ""), **fields}  # as the campaign's row gives it
    _, events = engine.start(flows[flow_id], contact, channel, now, fields)
    params = {**fields, "name": person.name}
    return [catalogues.text(ev.key, person.language, **params) for ev in events
            if isinstance(ev, MsgCreated)]


def preview(db: Session, tools: digest.Tools, flows: dict[str, Flow], person: Person,
            week: str, now: datetime) -> dict[str, list[str]]:
    """{channel: [message, ...]} for SMS and WhatsApp."""
    out = {}
    for channel in CHANNELS:
        flow_id, fields = fields_for(db, tools, person, week, now, channel)
        out[channel] = messages(flows, tools.catalogues, person, flow_id, fields, channel, now)
    return out
