"""The webhook's hand-off to RQ (bot/msgs/handoff.py) writes what RQ's own enqueue writes, so
the workers see an ordinary RQ job; and the small speed-ups of the webhook's path give the
same answers as what they replace (twilio's validator, phonenumbers)."""
import pickle
import random
import zlib

import phonenumbers
import pytest
import redis
from rq import Queue
from rq.job import Job
from twilio.request_validator import RequestValidator

from bot.channels import signature
from bot.contacts.phones import e164
from bot.msgs import handoff, inbound

TIMES = {b"created_at", b"enqueued_at"}


def test_the_job_is_field_for_field_what_rqs_enqueue_writes(redis_conn):
    q = Queue("handoff-test", connection=redis_conn)
    h = handoff.Handoff(q, inbound.handle, **inbound.HANDLE_JOB)
    h.enqueue(redis_conn, "in-7", (7,), {"person_id": 3},
              extra=[("HINCRBY", "handoff-test:counter", "recorded", 1)])
    h.enqueue(redis_conn, "in-8", (8,), None)
    q.enqueue_call(inbound.handle, (7,), {"person_id": 3}, job_id="rq-7",
                   **inbound.HANDLE_JOB)
    q.enqueue_call(inbound.handle, (8,), None, job_id="rq-8", **inbound.HANDLE_JOB)
    try:
        for ours, rqs in (("in-7", "rq-7"), ("in-8", "rq-8")):
            a = redis_conn.hgetall(Job.key_for(ours))
            b = redis_conn.hgetall(Job.key_for(rqs))
            assert set(a) == set(b)
            assert {k: v for k, v in a.items() if k not in TIMES | {b"data"}} == {
                k: v for k, v in b.items() if k not in TIMES | {b"data"}}
            assert pickle.loads(zlib.decompress(a[b"data"])) == pickle.loads(
                zlib.decompress(b[b"data"]))
            assert a[b"created_at"] <= a[b"enqueued_at"]
        assert q.job_ids == ["in-7", "in-8", "rq-7", "rq-8"]
        assert redis_conn.sismember("rq:queues", q.key)
        assert redis_conn.hget("handoff-test:counter", "recorded") == b"1"
        job = Job.fetch("in-7", connection=redis_conn)
        assert (job.func, job.args, job.kwargs) == (inbound.handle, (7,), {"person_id": 3})
        assert job.retries_left == 3 and job.retry_intervals == [5, 30, 120]
        assert job.result_ttl == 0  # nobody reads what handle returns: nothing kept
        assert job.get_status() == "queued" and job.origin == q.name
        assert Job.fetch("in-8", connection=redis_conn).kwargs == {}
    finally:
        q.empty()
        redis_conn.delete("handoff-test:counter")


def test_a_refused_command_raises_and_the_connection_stays_usable(redis_conn):
    q = Queue("handoff-test", connection=redis_conn)
    h = handoff.Handoff(q, inbound.handle)
    redis_conn.set("handoff-test:not-a-hash", "x")
    try:
        with pytest.raises(redis.ResponseError):
            h.enqueue(redis_conn, "in-9", (9,), extra=[("HINCRBY", "handoff-test:not-a-hash",
                                                        "f", 1)])
        assert redis_conn.ping()
        h.enqueue(redis_conn, "in-10", (10,))
        assert "in-10" in q.job_ids
    finally:
        q.empty()
        redis_conn.delete("handoff-test:not-a-hash")


def test_redis_down_raises_a_connection_error():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    h = handoff.Handoff.__new__(handoff.Handoff)  # the template of a live server's
    h._parts, h.commands, h.func_name = [b"*1\r\n$4\r\nPING\r\n"], 1, "f"
    with pytest.raises(redis.ConnectionError):
        h.enqueue(dead, "in-1", (1,))


def test_the_signature_check_agrees_with_twilios_validator():
    token = "12345"
    form = {"MessageSid": "SM1", "From": "+8801711000001", "Body": "হ্যাঁ", "NumMedia": "0"}
    for signed in ("https://sathi.example.org/twilio/messaging",
                   "https://sathi.example.org:443/twilio/messaging"):
        sig = RequestValidator(token).compute_signature(signed, form)
        for url in ("https://sathi.example.org/twilio/messaging",
                    "https://sathi.example.org:443/twilio/messaging",
                    "https://sathi.example.org/twilio/other"):
            for s in (sig, sig[:-2] + "xx", ""):
                assert signature.valid(token, url, form, s) == bool(
                    s and RequestValidator(token).validate(url, form, s)), (signed, url, s)
        assert not signature.valid(None, signed, form, sig)
        assert not signature.valid("other", signed, form, sig)


def test_a_bangladeshi_mobile_in_e164_is_what_phonenumbers_makes_of_it():
    rng = random.Random(16)
    for operator in "3456789":
        for _ in range(300):
            number = "+8801" + operator + "".join(rng.choice("0123456789") for _ in range(8))
            parsed = phonenumbers.parse(number, "BD")
            assert phonenumbers.is_valid_number(parsed)
            assert e164(number) == number == phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.E164)
    # other shapes still go through phonenumbers
    assert e164("01711-000001") == "+8801711000001"
    assert e164(" whatsapp:+8801711000001 ") == "+8801711000001"
    assert e164("+1 415 555 0100".replace(" ", "")) == "+14155550100"
    for bad in ("+8801211000001", "+88017110000011", "+880171100000"):
        with pytest.raises(ValueError):
            e164(bad)
    assert e164("+৮৮০১৭১১০০০০০১") == "+8801711000001"  # Bangla digits: not the fast path


def test_the_signature_check_reads_a_werkzeug_form_as_twilios_validator_does():
    """Flask's request.form (a MultiDict, a field may come more than once) is handed to twilio's
    validator by `getall`; the answer is the one twilio's validator gives for the form itself."""
    from werkzeug.datastructures import ImmutableMultiDict

    token = "12345"
    pairs = [("MessageSid", "SM1"), ("From", "+8801711000001"), ("Body", "হ্যাঁ"),
             ("MediaUrl0", "https://x/2"), ("MediaUrl0", "https://x/1"), ("NumMedia", "1")]
    form = ImmutableMultiDict(pairs)
    url = "https://sathi.example.org/twilio/messaging"
    sig = RequestValidator(token).compute_signature(url, form)
    for s in (sig, sig[:-2] + "xx"):
        for u in (url, "https://sathi.example.org:443/twilio/messaging",
                  "https://sathi.example.org/twilio/messaging?x=1"):
            assert signature.valid(token, u, form, s) == RequestValidator(token).validate(
                u, form, s), (u, s)
    # one of the two values left out, or a field added: refused
    assert not signature.valid(token, url, ImmutableMultiDict(pairs[:-2] + pairs[-1:]), sig)
    assert not signature.valid(token, url, ImmutableMultiDict(pairs + [("X", "1")]), sig)


def test_the_job_data_of_any_size_is_read_back_by_rq(redis_conn):
    """The job's data is compressed with a small window: RQ reads back calls far longer than it."""
    q = Queue("handoff-test", connection=redis_conn)
    h = handoff.Handoff(q, inbound.handle)
    try:
        for n, big in enumerate(("", "x" * 600, "".join(map(str, range(5000))))):
            h.enqueue(redis_conn, f"in-{n}", (n,), {"person_id": big} if big else None)
            job = Job.fetch(f"in-{n}", connection=redis_conn)
            assert job.args == (n,) and job.kwargs == ({"person_id": big} if big else {})
    finally:
        q.empty()
