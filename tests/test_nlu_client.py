"""The NLU client: Rasa over HTTP with a short timeout and a circuit breaker shared through
Redis; the embedded classifier whenever Rasa is unset, down, slow or broken; /healthz says which."""
import dataclasses
import time

import pytest
from nlu_servers import ParseServer, free_port

from bot import nlu
from bot.nlu.client import Breaker, Client


@pytest.fixture
def standin():
    server = ParseServer()
    yield server
    server.stop()


def test_without_rasa_url_the_embedded_classifier_answers(rt):
    heard = nlu.understand(rt, "hae korchi")
    assert (heard.intent, heard.backend) == ("affirm", "embedded")
    assert nlu.client(rt).breaker is None


def test_rasa_answers_when_it_is_up(rt, standin):
    client = Client(standin.url, Breaker(rt.redis, 3, 60), timeout=2.0)
    heard = client.understand("module 3 er video chole na")
    assert (heard.intent, heard.backend, heard.entities) == ("question", "rasa", {"module": 3,
                                                                                 "number": 3})
    assert heard.ranking[0][0] == "question" and len(heard.ranking) == 3  # for the review
    assert standin.requests == 1


def test_only_the_beginning_of_a_pasted_page_is_read(rt):
    """A 5,000-character paste is answered like its first line, in the time a message takes."""
    page = "dhonnobad" + " " * 5000 + "ar sms diben na"
    assert nlu.understand(rt, page).intent == nlu.understand(rt, "dhonnobad").intent == "thanks"
    assert nlu.obstacle(rt, "somoy pai nai" + " " * 5000 + "guti nai")[0] == "time"


@pytest.mark.parametrize("mode", ["refused", "slow", "error", "garbled"])
def test_any_rasa_failure_falls_back_for_that_message(rt, mode):
    # a slow server holds its answer for a minute (released when the test ends)
    server = ParseServer(mode=mode, delay=60.0) if mode != "refused" else None
    url = server.url if server else f"http://127.0.0.1:{free_port()}"
    try:
        client = Client(url, Breaker(rt.redis, 3, 60), timeout=0.3)
        started = time.monotonic()
        heard = client.understand("dhonnobad")
        took = time.monotonic() - started
    finally:
        if server:
            server.stop()
    assert (heard.intent, heard.backend) == ("thanks", "embedded")
    # the 300 ms timeout answered, not the server's minute: a bound of 100 times the timeout
    # holds on the busiest machine and still fails if the client waited for the server
    assert took < 30


def test_breaker_opens_after_n_failures_and_skips_rasa(rt):
    server = ParseServer(mode="error")
    client = Client(server.url, Breaker(rt.redis, 3, 60), timeout=1.0)
    try:
        for _ in range(3):
            assert client.understand("hi").backend == "embedded"
        assert server.requests == 3 and client.breaker.is_open()
        assert client.backend() == "embedded"
        client.understand("hi")
        assert server.requests == 3  # open: Rasa is not called at all
    finally:
        server.stop()


def _cooldown_passes(breaker):
    """Move the breaker's clock on: its open state ends as Redis expires the key."""
    assert 0 < breaker.conn.pttl(breaker.k_open) <= breaker.cooldown * 1000
    breaker.conn.pexpire(breaker.k_open, 1)
    deadline = time.monotonic() + 10
    while breaker.is_open() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_breaker_half_opens_after_the_cooldown(rt):
    server = ParseServer(mode="error")
    breaker = Breaker(rt.redis, 2, 60)
    client = Client(server.url, breaker, timeout=1.0)
    try:
        client.understand("hi"), client.understand("hi")
        assert breaker.is_open()
        _cooldown_passes(breaker)
        assert not breaker.is_open()
        client.understand("hi")  # the one trial fails: open again at once, not after 2 more
        assert server.requests == 3 and breaker.is_open()
        _cooldown_passes(breaker)
        server.mode = "ok"
        assert client.understand("hi").backend == "rasa"  # a successful trial closes it
        assert not breaker.is_open() and not rt.redis.exists("nlu:breaker:tripped")
    finally:
        server.stop()


def test_breaker_state_is_shared_by_clients_in_other_processes(rt):
    """Two clients on one Redis stand for two worker processes: one's failures open both."""
    url = f"http://127.0.0.1:{free_port()}"
    a, b = Client(url, Breaker(rt.redis, 2, 60), 0.3), Client(url, Breaker(rt.redis, 2, 60), 0.3)
    a.understand("hi")
    b.understand("hi")
    assert a.breaker.is_open() and b.backend() == "embedded"


def test_a_success_resets_the_failure_count(rt, standin):
    breaker = Breaker(rt.redis, 2, 60)
    bad = Client(f"http://127.0.0.1:{free_port()}", breaker, 0.3)
    good = Client(standin.url, breaker, 1.0)
    bad.understand("hi")
    good.understand("hi")
    bad.understand("hi")
    assert not breaker.is_open()


def test_healthz_names_the_backend_and_the_breaker(rt, app, settings):
    client = app.test_client()
    assert client.get("/healthz").get_json()["nlu"] == "embedded"
    assert "nlu_breaker" not in client.get("/healthz").get_json()

    url = f"http://127.0.0.1:{free_port()}"
    rt.settings = dataclasses.replace(settings, rasa_url=url)
    nlu._clients.clear()
    body = client.get("/healthz").get_json()
    assert (body["nlu"], body["nlu_breaker"]) == ("rasa", "closed")
    for _ in range(rt.settings.rasa_breaker_failures):
        nlu.understand(rt, "hello")
    body = client.get("/healthz").get_json()
    assert (body["nlu"], body["nlu_breaker"]) == ("embedded", "open")
