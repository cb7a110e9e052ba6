"""Golden transcripts: whole conversations through the webhook, worker and Twilio double,
with a frozen clock. Each file in testdata/transcripts/ lists turns and the exact replies
(tests/golden.py plays them; SATHI_UPDATE_GOLDENS=1 rewrites the replies). `then:` checks the
person afterwards, and `answers:` the last answer the flows stored to each question.

Every SMS conversation is played twice: through Twilio, and through the local gateway of
channels/smsgate.yaml (an Android phone running SMS Gateway for Android, its double answering
as documented), where the teacher texts the phone's number and is answered from it."""
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from conftest import CHANNELS
from golden import play
from sqlalchemy import select

from bot.store.models import Answer, FlowRun, Message, Person

HERE = Path(__file__).parent / "testdata" / "transcripts"
FILES = sorted(HERE.glob("*.yaml"))
def _through_phone(path) -> bool:
    """An SMS conversation the teacher starts can run through the phone gateway; one that starts
    with our message to someone who never wrote in (an invitation) cannot: the phone serves no
    prefix, so that first message goes by Twilio, as routing intends."""
    script = yaml.safe_load(path.read_text("utf-8"))
    return script.get("channel", "sms") == "sms" and "send" in script["turns"][0]


CASES = [pytest.param(path, via, id=f"{path.stem}-{via}") for path in FILES
         for via in ("twilio", "phone") if via == "twilio" or _through_phone(path)]


@pytest.fixture
def via(request):
    return request.param


@pytest.fixture
def settings(settings, via, request):
    if via == "twilio":
        return settings
    request.getfixturevalue("smsgate_env")
    return replace(settings, channels_file=CHANNELS / "smsgate.yaml")


@pytest.mark.parametrize(("path", "via"), CASES, indirect=["via"])
def test_transcript(path, via, rt, roster, tw, work, twilio, clock, request):
    gateway = request.getfixturevalue("phone") if via == "phone" else None
    script = play(path, rt=rt, tw=tw, work=work, twilio=twilio, clock=clock, gateway=gateway)
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
        if gateway is not None:  # every reply went out by the phone, none by Twilio
            providers = set(db.execute(select(Message.provider).where(
                Message.direction == "out")).scalars())
            assert providers <= {"phone"}, providers
    if gateway is not None:
        assert twilio.messages() == []
