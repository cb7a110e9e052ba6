"""The outbound pipeline as an operator sees it: the sender's rate holds across workers, what
Twilio defers is retried and delivered once and in order, what cannot succeed is not retried,
and WhatsApp falls back to a template or SMS. Real Redis, the Twilio double, signed callbacks."""
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from conftest import SMS_FROM, WHATSAPP_FROM
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from bot.msgs import outbox, ratelimit
from bot.store.models import DeliveryAttempt, Message, Person

TEMPLATE_SID = "HX" + "7" * 32


def people(rt, n, channel="sms"):
    with rt.db.session() as db:
        rows = [Person(phone=f"+88017110099{i:02d}", name=f"শিক্ষক {i}", role="teacher",
                       language="bn", channel=channel, created_at=rt.now()) for i in range(n)]
        db.add_all(rows)
    return rows


def queue(rt, person, texts, channel=None):
    """Queue one turn's replies for `person` and enqueue their send job; their ids."""
    with rt.db.session() as db:
        ids = [outbox.queue_text(db, person=person, address=person.phone,
                                 channel=channel or person.channel, key="test.text", body=t,
                                 now=rt.now()).id for t in texts]
    outbox.enqueue(ids)
    return ids


def run_jobs(rt, workers=1, rounds=None):
    """Run outbound jobs until none is left (or for `rounds` rounds), on `workers` concurrent
    threads. A scheduled
    retry runs at once instead of after its backoff (the delays are checked on the rows);
    the sender's rate is still enforced, on Redis's own clock."""
    q = rt.queue("outbound")
    scheduled = ScheduledJobRegistry(queue=q)
    for _ in range(rounds or 300):
        jobs = [q.fetch_job(i) for i in q.job_ids + scheduled.get_job_ids()]
        if not jobs:
            return
        for job in jobs:
            q.remove(job.id)
            scheduled.remove(job.id)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda job: job.func(*job.args), jobs))
    if rounds is None:
        raise AssertionError("outbound jobs never ran out")


def rows(rt, model=Message, **where):
    with rt.db.session() as db:
        query = select(model).order_by(model.id)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.execute(query).scalars().all()


def message_creates(twilio):
    return [r for r in twilio.requests if r.path.endswith("/Messages.json")]


JITTER = 0.3  # seconds a stalled thread may add to one send and not another on a loaded machine;
# the limiter off sends all 55 in about 0.26 s, so the checks below still fail without it


def burst(times, rate):
    """How far the busiest stretch of `times` runs ahead of the rate, in seconds: 0 when every
    k+1 consecutive requests span at least k / rate seconds."""
    times = sorted(times)
    return max(0.0, max(k / rate - (times[i + k] - times[i])
                        for i in range(len(times)) for k in range(1, len(times) - i)))


def most_in_any_second(times):
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times))


def callback(tw, twilio, sid, status, code=None):
    response = tw.post("/twilio/messaging/status",
                       twilio.status_callback_params(sid, status=status, error_code=code))
    assert response.status_code == 204


# rate limit and 429 ---------------------------------------------------------------------

def test_a_429_storm_is_delivered_once_in_order_at_the_senders_rate(rt, twilio):
    rate = 20.0
    rt.settings = replace(rt.settings, sms_rate=rate)
    teachers = people(rt, 4)
    texts = {p.phone: [f"{p.phone} বার্তা {k}" for k in range(10)] for p in teachers}
    for p in teachers:
        queue(rt, p, texts[p.phone])
    twilio.fail_rate_limited(times=15)  # the first 15 creates, whoever they are for
    started = time.monotonic()
    run_jobs(rt, workers=2)  # two workers sending at once share the one limit
    elapsed = time.monotonic() - started

    sent = twilio.messages()
    assert Counter(m["Body"] for m in sent) == Counter(t for ts in texts.values() for t in ts)
    for phone, expected in texts.items():
        assert [m["Body"] for m in sent if m["To"] == phone] == expected
    assert {m["From"] for m in sent} == {SMS_FROM}
    assert {m.status for m in rows(rt)} == {"sent"}
    deferred = rows(rt, DeliveryAttempt, outcome="retry")
    assert len(deferred) == 15 and {a.error_code for a in deferred} == {20429}
    assert len(rows(rt, DeliveryAttempt, outcome="sent")) == 40

    creates = message_creates(twilio)
    assert len(creates) == 55
    # sends at the rate, no burst (GCRA: one slot per 1/rate s), even counting the refused
    # creates, up to the jitter of the HTTP path; and the limit did not starve the senders
    times = [r.time for r in creates]
    assert burst(times, rate) <= JITTER
    assert most_in_any_second(times) <= rate + 1 + round(JITTER * rate)
    assert elapsed >= (55 - 1) / rate - JITTER
    # and the limit did not starve them: ten times the ideal 2.75 s, whatever the machine
    assert elapsed < 55 / rate * 10


def test_a_long_wait_for_the_sender_reschedules_instead_of_holding_the_turn(rt, twilio):
    rt.settings = replace(rt.settings, sms_rate=0.01)  # one SMS every 100 s
    (teacher,) = people(rt, 1)
    first, second, third = queue(rt, teacher, ["এক", "দুই", "তিন"])
    started = time.monotonic()
    job = rt.queue("outbound").fetch_job(f"send-{first}-0")
    assert job.func(*job.args) == ["sent", "queued"]
    assert time.monotonic() - started < 50  # it did not sleep 100 s holding the person's turn
    assert [m["Body"] for m in twilio.messages()] == ["এক"]
    msg = rows(rt, id=second)[0]
    assert (msg.status, msg.attempts) == ("queued", 0)  # waiting for the rate is no attempt
    (later,) = ScheduledJobRegistry(queue=rt.queue("outbound")).get_job_ids()
    assert rt.queue("outbound").fetch_job(later).args == ([second, third],)  # order kept


def test_a_turn_sleeps_for_the_rate_only_as_long_as_its_lock_allows(rt, twilio, monkeypatch):
    monkeypatch.setattr(outbox, "TURN_SLEEP_BUDGET", 1.2)
    rt.settings = replace(rt.settings, sms_rate=2.0)  # one SMS every 0.5 s
    (teacher,) = people(rt, 1)
    ids = queue(rt, teacher, ["এক", "দুই", "তিন", "চার", "পাঁচ"])
    job = rt.queue("outbound").fetch_job(f"send-{ids[0]}-0")
    slept = []
    real_sleep = ratelimit.time.sleep
    monkeypatch.setattr(ratelimit.time, "sleep", lambda s: (slept.append(s), real_sleep(s)))
    statuses = job.func(*job.args)
    # what it slept for the rate stayed within the budget, and the rest of the turn waits in
    # order for a later job (how many fit depends on the machine's speed, never the order)
    assert sum(slept) <= outbox.TURN_SLEEP_BUDGET
    sent = statuses.count("sent")
    assert 1 <= sent < 5 and statuses == ["sent"] * sent + ["queued"]
    (later,) = ScheduledJobRegistry(queue=rt.queue("outbound")).get_job_ids()
    assert rt.queue("outbound").fetch_job(later).args == (ids[sent:],)
    monkeypatch.undo()
    run_jobs(rt)
    assert [m["Body"] for m in twilio.messages()] == ["এক", "দুই", "তিন", "চার", "পাঁচ"]


def test_the_rate_is_per_sender_number(rt, twilio):
    rt.settings = replace(rt.settings, sms_rate=0.2, whatsapp_rate=0.2)
    (teacher,) = people(rt, 1)
    queue(rt, teacher, ["এসএমএস"], channel="sms")
    queue(rt, teacher, ["হোয়াটসঅ্যাপ"], channel="whatsapp")
    run_jobs(rt)
    assert [m["From"] for m in twilio.messages()] == [SMS_FROM, "whatsapp:" + WHATSAPP_FROM]


# permanent errors and opt-out -------------------------------------------------------------

def test_21610_stops_every_send_to_that_person(rt, twilio, clock):
    teacher, other = people(rt, 2)
    twilio.fail_unsubscribed(to=teacher.phone)
    first_turn = queue(rt, teacher, ["এক", "দুই", "তিন"])
    behind = queue(rt, teacher, ["পরের পালা"])  # queued behind it, in another job
    queue(rt, other, ["অন্য শিক্ষক"])
    run_jobs(rt)
    clock.advance(days=7)
    later = queue(rt, teacher, ["সাপ্তাহিক বার্তা"], channel="whatsapp")  # e.g. a campaign
    run_jobs(rt)

    assert [(m["To"], m["Body"]) for m in twilio.messages()] == [(other.phone, "অন্য শিক্ষক")]
    assert len(message_creates(twilio)) == 2  # the refused one and the other teacher's
    assert rows(rt, Person, id=teacher.id)[0].opted_out
    statuses = [(m.id, m.status, m.error_code) for m in rows(rt, person_id=teacher.id)]
    assert statuses == [(first_turn[0], "failed", 21610)] + [
        (i, "suppressed", None) for i in first_turn[1:] + behind + later]
    assert not rows(rt, DeliveryAttempt, outcome="fallback")


def test_21610_in_a_status_callback_opts_out_too(rt, twilio, tw):
    (teacher,) = people(rt, 1, channel="whatsapp")
    (mid,) = queue(rt, teacher, ["এক"])
    run_jobs(rt)
    callback(tw, twilio, rows(rt, id=mid)[0].provider_sid, "failed", 21610)
    queue(rt, teacher, ["দুই"])
    run_jobs(rt)
    assert rows(rt, Person)[0].opted_out
    assert len(twilio.messages()) == 1  # no SMS fallback, nothing after it
    assert [m.status for m in rows(rt)] == ["failed", "suppressed"]


@pytest.mark.parametrize("fail", ["fail_invalid_to", "not_mobile"])
def test_a_permanent_rest_error_is_not_retried(rt, twilio, fail):
    (teacher,) = people(rt, 1)
    if fail == "not_mobile":
        twilio.fail_next(400, 21614, "'To' number is not a valid mobile number")
    else:
        getattr(twilio, fail)()
    first, second = queue(rt, teacher, ["এক", "দুই"])
    run_jobs(rt)
    msg = rows(rt, id=first)[0]
    assert (msg.status, msg.attempts) == ("failed", 1)
    assert rows(rt, id=second)[0].status == "sent"  # the next reply is not held up
    assert len(message_creates(twilio)) == 2
    assert [a.outcome for a in rows(rt, DeliveryAttempt, message_id=first)] == ["failed"]


def test_30006_in_a_status_callback_is_not_retried(rt, twilio, tw):
    (teacher,) = people(rt, 1)
    (mid,) = queue(rt, teacher, ["এক"])
    run_jobs(rt)
    callback(tw, twilio, rows(rt, id=mid)[0].provider_sid, "undelivered", 30006)
    run_jobs(rt)
    assert len(rows(rt)) == 1 and rows(rt)[0].status == "undelivered"
    assert len(message_creates(twilio)) == 1


def test_5xx_is_retried_with_growing_delays_then_given_up(rt, twilio, clock):
    (teacher,) = people(rt, 1)
    twilio.fail_server_error(times=3)
    twilio.fail_unavailable(times=10)
    (mid,) = queue(rt, teacher, ["এক"])
    q = rt.queue("outbound")
    scheduled = ScheduledJobRegistry(queue=q)
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS):
        run_jobs(rt, rounds=1)
        msg = rows(rt, id=mid)[0]
        if msg.status != "queued":
            break
        delays.append((msg.next_attempt_at - rt.now()).total_seconds())
        clock.advance(seconds=delays[-1])
    assert delays == [30, 60, 120, 240]
    msg = rows(rt, id=mid)[0]
    assert (msg.status, msg.attempts, msg.error_code) == ("failed", outbox.MAX_ATTEMPTS, 20503)
    assert len(message_creates(twilio)) == outbox.MAX_ATTEMPTS and twilio.messages() == []
    assert not scheduled.get_job_ids() and not q.job_ids
    outcomes = [a.outcome for a in rows(rt, DeliveryAttempt)]
    assert outcomes == ["retry"] * 4 + ["failed"]


def test_30003_is_resent_with_growing_delays_then_given_up(rt, twilio, tw, clock):
    (teacher,) = people(rt, 1)
    queue(rt, teacher, ["এক"])
    run_jobs(rt)
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS):
        last = rows(rt)[-1]
        callback(tw, twilio, last.provider_sid, "undelivered", 30003)
        callback(tw, twilio, last.provider_sid, "undelivered", 30003)  # Twilio may repeat it
        resend = rows(rt)[-1]
        if resend.id == last.id:
            break
        delays.append((resend.next_attempt_at - rt.now()).total_seconds())
        run_jobs(rt)
    assert delays == [30, 60, 120, 240]
    chain = rows(rt)
    assert len(chain) == outbox.MAX_ATTEMPTS == len(twilio.messages())
    assert [m.status for m in chain] == ["undelivered"] * outbox.MAX_ATTEMPTS
    assert [m.attempts for m in chain] == list(range(1, outbox.MAX_ATTEMPTS + 1))
    links = [(a.message_id, a.related_message_id)
             for a in rows(rt, DeliveryAttempt, outcome="retry")]
    assert links == [(a.id, b.id) for a, b in zip(chain, chain[1:])]


# WhatsApp outside the session, and fallbacks ----------------------------------------------

def test_outside_the_whatsapp_session_the_configured_template_goes(rt, twilio):
    rt.settings = replace(rt.settings, twilio_whatsapp_template_sid=TEMPLATE_SID,
                          whatsapp_template_variables='{"1": "name", "2": "body"}')
    (teacher,) = people(rt, 1, channel="whatsapp")
    twilio.close_whatsapp_session("whatsapp:" + teacher.phone)
    first, second = queue(rt, teacher, ["এই সপ্তাহের কাজ:\n১. পড়ুন", "দ্বিতীয় বার্তা"])
    run_jobs(rt)
    sent = twilio.messages()
    assert [(m["ContentSid"], json.loads(m["ContentVariables"])) for m in sent] == [
        (TEMPLATE_SID, {"1": "শিক্ষক 0", "2": "এই সপ্তাহের কাজ: ১. পড়ুন"}),  # no line break
        (TEMPLATE_SID, {"1": "শিক্ষক 0", "2": "দ্বিতীয় বার্তা"})]
    assert all("Body" not in m and m["From"] == "whatsapp:" + WHATSAPP_FROM for m in sent)
    assert [m.status for m in rows(rt)] == ["sent", "sent"]  # no SMS
    log = [(a.outcome, a.error_code) for a in rows(rt, DeliveryAttempt, message_id=first)]
    assert log == [("template", 63016), ("sent", None)]


def test_outside_the_session_without_a_template_it_goes_by_sms(rt, twilio):
    (teacher,) = people(rt, 1, channel="whatsapp")
    twilio.close_whatsapp_session("whatsapp:" + teacher.phone)
    first, second = queue(rt, teacher, ["এক", "দুই"])
    run_jobs(rt)
    assert [(m["To"], m["From"], m["Body"]) for m in twilio.messages()] == [
        (teacher.phone, SMS_FROM, "এক"), (teacher.phone, SMS_FROM, "দুই")]
    msgs = rows(rt)
    assert [(m.channel, m.body, m.status, m.error_code) for m in msgs] == [
        ("whatsapp", "এক", "failed", 63016), ("whatsapp", "দুই", "failed", 63016),
        ("sms", "এক", "sent", None), ("sms", "দুই", "sent", None)]
    links = [(a.message_id, a.related_message_id)
             for a in rows(rt, DeliveryAttempt, outcome="fallback")]
    assert links == [(first, msgs[2].id), (second, msgs[3].id)]


def test_undelivered_whatsapp_falls_back_to_sms_once(rt, twilio, tw):
    (teacher,) = people(rt, 1, channel="whatsapp")
    (mid,) = queue(rt, teacher, ["এক"])
    run_jobs(rt)
    sid = rows(rt, id=mid)[0].provider_sid
    for status in ("undelivered", "undelivered", "failed"):  # repeated, then another failure
        callback(tw, twilio, sid, status, 63024)
    run_jobs(rt)
    callback(tw, twilio, sid, "undelivered", 63024)
    run_jobs(rt)
    sent = twilio.messages()
    assert [(m["To"], m["From"], m["Body"]) for m in sent] == [
        ("whatsapp:" + teacher.phone, "whatsapp:" + WHATSAPP_FROM, "এক"),
        (teacher.phone, SMS_FROM, "এক")]
    original, fallback = rows(rt)
    assert (original.status, fallback.channel, fallback.status) == ("undelivered", "sms", "sent")
    log = [(a.outcome, a.status, a.related_message_id)
           for a in rows(rt, DeliveryAttempt, message_id=mid)]
    assert log == [("sent", None, None), ("status", "undelivered", None),
                   ("fallback", None, fallback.id), ("status", "undelivered", None),
                   ("status", "failed", None), ("status", "undelivered", None)]


def test_concurrent_failure_callbacks_make_one_fallback(rt, twilio, tw, app):
    (teacher,) = people(rt, 1, channel="whatsapp")
    (mid,) = queue(rt, teacher, ["এক"])
    run_jobs(rt)
    params = twilio.status_callback_params(rows(rt, id=mid)[0].provider_sid, "undelivered", 30008)
    clients = [type(tw)(app.test_client()) for _ in range(4)]
    start = threading.Barrier(len(clients))

    def post(client):
        start.wait()
        return client.post("/twilio/messaging/status", params).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        assert list(pool.map(post, clients)) == [204] * len(clients)
    run_jobs(rt)
    assert [m["To"] for m in twilio.messages()] == ["whatsapp:" + teacher.phone, teacher.phone]


def test_no_fallback_to_someone_who_opted_out(rt, twilio, tw, clock):
    (teacher,) = people(rt, 1, channel="whatsapp")
    (mid,) = queue(rt, teacher, ["এক"])
    run_jobs(rt)
    with rt.db.session() as db:
        db.get(Person, teacher.id).opted_out_at = rt.now()
    callback(tw, twilio, rows(rt, id=mid)[0].provider_sid, "undelivered", 63024)
    run_jobs(rt)
    assert len(rows(rt)) == 1 and len(twilio.messages()) == 1


def test_every_status_is_recorded_and_the_message_keeps_the_latest(rt, twilio, tw):
    (teacher,) = people(rt, 1)
    (mid,) = queue(rt, teacher, ["এক"])
    run_jobs(rt)
    sid = rows(rt, id=mid)[0].provider_sid
    for status in ("delivered", "sent"):  # out of order: "sent" arrives late
        callback(tw, twilio, sid, status)
    assert rows(rt, id=mid)[0].status == "delivered"
    log = [(a.attempt, a.channel, a.outcome, a.status, a.provider_sid)
           for a in rows(rt, DeliveryAttempt)]
    assert log == [(1, "sms", "sent", None, sid), (1, "sms", "status", "delivered", sid),
                   (1, "sms", "status", "sent", sid)]


def test_through_the_webhook_and_a_real_worker_a_closed_session_still_gets_its_replies(
        rt, roster, tw, work, twilio):
    teacher = "+8801711000002"  # English, WhatsApp, in the demo roster
    twilio.close_whatsapp_session("whatsapp:" + teacher)
    tw.sms(teacher, "hi", channel="whatsapp")
    work()
    sent = twilio.messages()
    assert len(sent) == 2 and {(m["To"], m["From"]) for m in sent} == {(teacher, SMS_FROM)}
    assert "English" in sent[1]["Body"]  # the language question, after the welcome
    refused = [r for r in message_creates(twilio) if r.response_status == 400]
    assert [r.form["To"] for r in refused] == ["whatsapp:" + teacher] * 2
