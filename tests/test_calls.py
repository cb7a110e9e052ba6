"""Golden call transcripts: the voice webhooks, the dialer and the Twilio double, frozen clock.
Each file in testdata/calls/ lists Twilio's requests and the TwiML answered (golden_voice.py
plays them; SATHI_UPDATE_GOLDENS=1 rewrites the TwiML)."""
from pathlib import Path

import pytest
from golden_voice import play
from sqlalchemy import select

from bot.contacts.phones import e164
from bot.store.models import Call, Checkin, Person, Recording

HERE = Path(__file__).parent / "testdata" / "calls"
FILES = sorted(HERE.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_call_transcript(path, rt, roster, tw, work, twilio, clock):
    script = play(path, rt=rt, tw=tw, work=work, twilio=twilio, clock=clock)
    then = script.get("then", {})
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == e164(script["phone"]))
                            ).scalar_one()
        if "checkin" in then:
            row = db.execute(select(Checkin).where(Checkin.school_id == person.school_id)
                             ).scalar_one()
            assert {k: getattr(row, k) for k in then["checkin"]} == then["checkin"]
            assert (row.person_id, row.channel) == (person.id, "voice")
        if "call" in then:
            call = db.execute(select(Call).where(Call.person_id == person.id,
                                                 Call.direction == "out")
                              .order_by(Call.id.desc()).limit(1)).scalar_one()
            assert {k: getattr(call, k) for k in then["call"]} == then["call"]
        if "onboarded" in then:
            assert (person.onboarded_at is not None) == then["onboarded"]
        if "opted_out" in then:
            assert person.opted_out == then["opted_out"]
        if "recordings" in then:
            rows = db.execute(select(Recording.kind, Recording.duration)
                              .where(Recording.person_id == person.id)).all()
            assert [list(r) for r in rows] == then["recordings"]


def test_the_check_in_takes_about_three_minutes():
    """What the keypad check-in says, at an unhurried text-to-speech pace (prompts.py's
    estimate), plus a few seconds to answer each question, stays within three minutes."""
    import xml.etree.ElementTree as ET

    import yaml

    from ivr.prompts import estimate_seconds

    script = yaml.safe_load((HERE / "checkin_keypad.yaml").read_text(encoding="utf-8"))
    said = answers = 0.0
    for turn in script["turns"]:
        if "twiml" in turn:
            root = ET.fromstring(turn["twiml"])
            said += sum(estimate_seconds(s.text) for s in root.iter("Say"))
            answers += 4 * len(root.findall("Gather"))
    assert 90 < said + answers <= 180, said + answers
