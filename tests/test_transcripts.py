"""Golden transcripts: whole conversations through the webhook, worker and Twilio double,
with a frozen clock. Each file in testdata/transcripts/ lists turns and the exact replies.

SATHI_UPDATE_GOLDENS=1 rewrites the expected replies from what the service now says; read the
diff before committing it.
"""
import os
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import campaign, inbound
from bot.models import FlowRun, Person

HERE = Path(__file__).parent / "testdata" / "transcripts"
FILES = sorted(HERE.glob("*.yaml"))
UPDATE = os.environ.get("SATHI_UPDATE_GOLDENS") == "1"


def _fire_timeout(rt, phone):
    """Move the clock to the person's deadline and let the cron sweep find it."""
    with rt.db.session() as db:
        pid = db.execute(select(Person.id).where(Person.phone == phone)).scalar_one()
        run = db.execute(select(FlowRun).where(FlowRun.person_id == pid,
                                               FlowRun.status == "active")).scalar_one()
    # a timeout is acted on inside the sending window (09:00-19:00, school days)
    rt.clock.current = rt.calendar.next_open(datetime.fromisoformat(run.session["timeout_at"]))
    assert inbound.expire_due() == 1


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript(path, rt, roster, tw, work, twilio, clock):
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    clock.current = datetime.fromisoformat(script["clock"])
    seen = 0
    for turn in script["turns"]:
        if "at" in turn:
            clock.current = datetime.fromisoformat(turn["at"])
        if "advance" in turn:
            clock.advance(**turn["advance"])
        if turn.get("timeout"):
            _fire_timeout(rt, script["phone"])
        elif "campaign" in turn:  # what cron does at that moment: plan the week, dispatch
            campaign.plan(rt, turn["campaign"], rt.calendar.week_of(clock()), clock())
            campaign.dispatch(rt, clock())
        else:
            tw.sms(script["phone"], turn["send"], channel=script.get("channel", "sms"))
        work()
        sent = twilio.messages()[seen:]
        seen += len(sent)
        got = [m["Body"] for m in sent]
        if UPDATE:
            turn["replies"] = got
        else:
            assert got == turn["replies"], \
                f"turn {turn.get('send', turn.get('campaign', '(timeout)'))!r} at {clock()}"
    if UPDATE:
        path.write_text(yaml.safe_dump(script, allow_unicode=True, sort_keys=False, width=200),
                        encoding="utf-8")
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == script["phone"])).scalar_one()
        for field, value in script.get("then", {}).items():
            actual = getattr(person, field)
            assert (actual is not None if value == "set" else actual == value), field
