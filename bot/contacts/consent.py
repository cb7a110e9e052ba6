"""Consent: a person's yes to the service, recorded when their own message begins onboarding.

`record` is called by a turn (bot/msgs/turn.py) when a rostered person's reply to an invitation,
their START, or anything they write uninvited starts onboarding. It is also the hook for voice:
a headteacher on voice is invited by their first call (ivr/, the voice issue), which calls
`record(db, person, "voice", now)` when that call begins onboarding.

The invitation answered is the latest one sent to the person (a row of a campaign marked
`first_contact` in flows/campaigns.yaml); its `variant` is the version of the invitation's texts
(bot/campaigns/cycle.py, `invitation`), so what each person said yes to can be told apart after
the wording changes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..store.models import CampaignRun, Consent, FlowRun, Message, Person

SENT = ("sent", "closed")  # campaign_run statuses of an invitation that went out


_INVITATION = (select(CampaignRun).where(
    CampaignRun.person_id == bindparam("i_person"),
    CampaignRun.campaign.in_(bindparam("i_names", expanding=True)),
    CampaignRun.status.in_(SENT)).order_by(CampaignRun.done_at.desc(), CampaignRun.id.desc())
    .limit(1))  # the latest invitation sent to a person: built once, with bound parameters


def record(db: Session, person: Person, channel: str, now: datetime,
           message: Message | None = None, invitations: Iterable[str] = ()) -> Consent:
    """Store the consent in the caller's transaction; `invitations` names the campaigns that
    invite (their latest row sent to this person is the invitation answered)."""
    names = list(invitations)
    invited = db.execute(_INVITATION, {"i_person": person.id, "i_names": names}) \
        .scalar_one_or_none() if names else None
    language = None
    if invited is not None and invited.flow_run_id is not None:
        run = db.get(FlowRun, invited.flow_run_id)
        language = run.session.get("contact", {}).get("language") if run else None
    consent = Consent(person_id=person.id, given_at=now, channel=channel,
                      message_id=message.id if message is not None else None,
                      invitation_id=invited.id if invited else None,
                      campaign=invited.campaign if invited else None,
                      text_version=invited.variant if invited else None, language=language)
    db.add(consent)
    return consent
