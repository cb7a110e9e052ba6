"""Golden transcripts of the digests: an upazila officer, a district officer, an ambassador, a
headteacher on SMS, and a recognition an officer confirms; each in the world of
tests/digest_world.py, through the campaigns, the signed webhook, the worker and the Twilio
double, with a frozen clock. Only the person a transcript is about is onboarded, so every
message a campaign or a reply sends is theirs (or, for a congratulation, its recipients')."""
from pathlib import Path

import pytest
from digest_world import build
from golden import play

HERE = Path(__file__).parent / "testdata" / "digest_transcripts"
FILES = sorted(HERE.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_digest_transcript(path, rt, tw, work, twilio, clock):
    import yaml

    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    with rt.db.session() as db:
        build(db, onboarded=tuple(script["onboarded"]))
    play(path, rt=rt, tw=tw, work=work, twilio=twilio, clock=clock)
