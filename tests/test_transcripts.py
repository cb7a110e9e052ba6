"""Golden transcripts: whole conversations through the webhook, worker and Twilio double,
with a frozen clock. Each file in testdata/transcripts/ lists turns and the exact replies
(tests/golden.py plays them; SATHI_UPDATE_GOLDENS=1 rewrites the replies). `then:` checks the
person afterwards, and `answers:` the last answer the flows stored to each question."""
from pathlib import Path

import pytest
from golden import play
from sqlalchemy import select

from bot.store.models import Answer, FlowRun, Person

HERE = Path(__file__).parent / "testdata" / "transcripts"
FILES = sorted(HERE.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript(path, rt, roster, tw, work, twilio, clock):
    script = play(path, rt=rt, tw=tw, work=work, twilio=twilio, clock=clock)
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == script["phone"])).scalar_one()
        for field, value in script.get("then", {}).items():
            if field == "answers":  # what the flows stored: the last answer to each question
                for name, expected in value.items():
                    stored = db.execute(select(Answer.value).join(FlowRun).where(
                        FlowRun.person_id == person.id, Answer.field == name)
                        .order_by(Answer.id.desc()).limit(1)).scalar()
                    assert stored == (None if expected is None else str(expected)), name
                continue
            actual = getattr(person, field)
            assert (actual is not None if value == "set" else actual == value), field
