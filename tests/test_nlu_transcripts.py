"""Golden transcripts in words, through the webhook, worker and Twilio double, with Rasa up and
then down mid-conversation (`- rasa: down`). Run twice: against a stand-in for Rasa's HTTP API,
and (marked `rasa`) against the real Rasa server behind a proxy that the test cuts.

tests/golden.py plays them; SATHI_UPDATE_GOLDENS=1 rewrites the expected replies.
"""
import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from golden import play
from nlu_servers import ParseServer, Proxy, real_rasa_url
from sqlalchemy import func, select

from bot.store.models import Person, Question

HERE = Path(__file__).parent / "testdata" / "nlu_transcripts"
FILES = sorted(HERE.glob("*.yaml"))


@pytest.fixture(params=["standin", pytest.param("rasa", marks=pytest.mark.rasa)])
def rasa(request):
    """A server at .url that `.stop()` takes down: the stand-in, or a cuttable proxy in front of
    the real Rasa server."""
    if request.param == "standin":
        server = ParseServer()
    else:
        target = urlsplit(real_rasa_url())
        server = Proxy((target.hostname, target.port))
    yield server
    server.stop()


@pytest.fixture
def settings(settings, rasa):
    return dataclasses.replace(settings, rasa_url=rasa.url, rasa_timeout_ms=2000)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_nlu_transcript(path, rasa, rt, roster, tw, work, twilio, clock, caplog):
    went_down = []

    def rasa_turn(turn) -> bool:
        if turn.get("rasa") != "down":
            return False
        assert _served(rasa) > 0, "Rasa was never asked before it went down"
        rasa.stop()
        went_down.append(True)
        return True

    script = play(path, rt=rt, tw=tw, work=work, twilio=twilio, clock=clock, other=rasa_turn)
    assert went_down
    assert any("embedded classifier used" in r.message for r in caplog.records)
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == script["phone"])).scalar_one()
        asked = db.execute(select(func.count(Question.id))
                           .where(Question.person_id == person.id)).scalar()
        assert asked == script["then"]["questions"]
        assert person.opted_out == script["then"]["opted_out"]


def _served(server) -> int:
    return server.requests if isinstance(server, ParseServer) else server.connections
