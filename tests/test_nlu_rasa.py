"""Against the real Rasa server (marked `rasa`): scripts/nlu-ci starts it and sets RASA_URL;
without it, a server is started from the cached venv and model, or the tests are skipped."""
import dataclasses
import json

import pytest
from click.testing import CliRunner
from nlu_servers import real_rasa_url

from bot import nlu
from bot.cli import main
from bot.nlu import defaults
from bot.nlu.client import Breaker, Client

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def rasa_url():
    return real_rasa_url()


@pytest.mark.parametrize("text,intent", [
    ("hae korchi", "affirm"), ("হ্যাঁ করেছি", "affirm"), ("pore", "snooze"),
    ("ar sms diben na", "opt_out"), ("module 3 er video chole na", "question"),
])
def test_rasa_understands_the_examples_in_the_issue(rt, rasa_url, text, intent):
    heard = Client(rasa_url, Breaker(rt.redis, 3, 60), timeout=5.0).understand(text)
    assert (heard.backend, heard.intent) == ("rasa", intent)


def test_rasa_finds_the_module_number(rt, rasa_url):
    heard = Client(rasa_url, None, timeout=5.0).parse_rasa("মডিউল ৪ এর ভিডিও খুলছে না")
    assert heard.entities.get("module") == 4


def test_eval_rasa_on_the_heldout_file(rasa_url):
    result = CliRunner().invoke(main, ["nlu", "eval", "--data", str(defaults.HELDOUT),
                                       "--backend", "rasa", "--rasa-url", rasa_url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["backend"] == "rasa" and report["examples"] >= 130
    assert report["macro_f1"] >= 0.85  # a sanity floor; bench/nlu.py prints the figures


def test_healthz_says_rasa_while_it_answers(rt, app, settings, rasa_url):
    rt.settings = dataclasses.replace(settings, rasa_url=rasa_url, rasa_timeout_ms=5000)
    nlu._clients.clear()
    assert nlu.understand(rt, "dhonnobad").backend == "rasa"
    body = app.test_client().get("/healthz").get_json()
    assert (body["nlu"], body["nlu_breaker"]) == ("rasa", "closed")
