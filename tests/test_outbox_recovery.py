"""Replies survive what happens to the worker sending them (D1), a provider that answers too
late (D5), and several workers racing for one person's turns (D7): each reply leaves once, and
one person's replies leave in the order their turns were handled."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from conftest import SMS_FROM, Clock
from processes import sathi_worker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from bot.channels import twilio_messaging
from bot.msgs import outbox
from bot.msgs.ratelimit import SenderRate
from bot.store.models import DeliveryAttempt, Message, Person


@pytest.fixture
def clock():
    """Real time: a worker process in another process stamps rows with its own clock."""
    return Clock(datetime.now(timezone.utc).replace(microsecond=0))


def teacher(rt, phone="+8801711009901", channel="sms"):
    with rt.db.session() as db:
        p = Person(phone=phone, name="রহিমা বেগম", role="teacher", language="bn",
                   channel=channel, created_at=rt.now())
        db.add(p)
    return p


def queue(rt, person, texts):
    """One turn's replies, queued and enqueued as the turn's send job; their ids."""
    with rt.db.session() as db:
        ids = [outbox.queue_text(db, person=person, address=person.phone, channel=person.channel,
                                 key="test.text", body=t, now=rt.now()).id for t in texts]
    outbox.enqueue(ids)
    return ids


def row(rt, mid):
    with rt.db.session() as db:
        return db.get(Message, mid)


def run_queued(rt):
    """Run the outbound jobs that are due now (not the scheduled ones), in this process."""
    q = rt.queue("outbound")
    while q.job_ids:
        job = q.fetch_job(q.job_ids[0])
        q.remove(job.id)
        job.func(*job.args)


def run_scheduled(rt):
    """Run the jobs RQ's scheduler holds, as it would once their time comes."""
    q = rt.queue("outbound")
    scheduled = ScheduledJobRegistry(queue=q)
    for job_id in scheduled.get_job_ids():
        job = q.fetch_job(job_id)
        scheduled.remove(job_id)
        job.func(*job.args)


def let_time_pass(clock, r, **delta):
    """Move the service's clock, and let the service's Redis keys whose time-to-live that
    covers expire (the dead worker's turn lock, the sender's rate), so the test need not
    sleep through them."""
    clock.advance(**delta)
    seconds = timedelta(**delta).total_seconds()
    for key in r.scan_iter("sathi:*"):
        if 0 <= r.pttl(key) <= seconds * 1000:
            r.delete(key)


def bodies(twilio):
    """What reached the teacher: every message Twilio accepted (even if its answer is late)."""
    return [m["body"] for m in twilio.listed()]


# D1: a worker killed during a send -------------------------------------------------------

def test_a_reply_whose_worker_died_after_twilio_took_it_is_not_sent_again(
        rt, twilio, clock, redis_conn):
    """kill -9 of a real `sathi worker` while Twilio holds its answer: the message is at
    Twilio, our row says `sending`. After the lease, the sweep finds it there: sent, once."""
    p = teacher(rt)
    (mid,) = queue(rt, p, ["কোন ভাষায় লিখব?"])
    held, release = threading.Event(), threading.Event()

    def hold(sid, form):
        held.set()
        release.wait(20)

    twilio.before_answer = hold
    worker = sathi_worker(rt.settings, redis_conn, name="d1-worker")
    try:
        assert held.wait(60), worker.output()
        worker.kill9()
    finally:
        release.set()
        worker.stop()
    assert row(rt, mid).status == "sending"
    (accepted,) = twilio.listed()

    let_time_pass(clock, rt.redis, minutes=5)  # the lease ran out; cron's sweep comes round
    outbox.sweep()
    run_queued(rt)

    assert bodies(twilio) == ["কোন ভাষায় লিখব?"]  # once
    msg = row(rt, mid)
    assert (msg.status, msg.provider_sid) == ("sent", accepted["sid"])


def test_a_reply_whose_worker_died_before_calling_twilio_is_sent(rt, twilio, clock, redis_conn):
    """kill -9 while the worker waits for the sender's rate: claimed, never sent. After the
    lease the sweep looks it up, does not find it, and sends it."""
    p = teacher(rt)
    worker = sathi_worker(rt.settings, redis_conn, name="d1-worker",
                          SATHI_SMS_RATE="0.5")
    try:
        wait_until_listening(rt, worker)
        SenderRate(rt.redis).reserve(SMS_FROM, 0.5)  # the next SMS slot is 2 s away
        (mid,) = queue(rt, p, ["স্বাগতম"])
        for _ in range(600):
            if row(rt, mid).status == "sending":
                break
            threading.Event().wait(0.05)
        assert row(rt, mid).status == "sending", worker.output()
        worker.kill9()
    finally:
        worker.stop()
    assert twilio.messages() == []

    let_time_pass(clock, rt.redis, minutes=5)
    outbox.sweep()
    run_queued(rt)

    assert bodies(twilio) == ["স্বাগতম"]
    assert row(rt, mid).status == "sent"


def wait_until_listening(rt, worker, timeout=60):
    from rq import Worker

    for _ in range(int(timeout / 0.05)):
        if Worker.count(connection=rt.redis):
            return
        assert worker.alive(), worker.output()
        threading.Event().wait(0.05)
    raise AssertionError("the worker never started: " + worker.output())


# D5: an answer that comes too late -------------------------------------------------------

@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(twilio_messaging, "TIMEOUT", 0.5)


def test_twilio_took_it_but_answered_too_late_so_it_is_looked_up_not_sent_twice(
        rt, twilio, clock, short_timeout):
    p = teacher(rt)
    (mid,) = queue(rt, p, ["শিক্ষক সাথীতে আপনাকে স্বাগতম!"])
    twilio.delay_next(2.0)  # accepted at once, answered after the client gave up
    run_queued(rt)
    clock.advance(minutes=2)  # the outcome is unknown until it is looked up
    run_scheduled(rt)
    outbox.sweep()
    run_queued(rt)

    assert bodies(twilio) == ["শিক্ষক সাথীতে আপনাকে স্বাগতম!"]  # the teacher got it once
    (accepted,) = twilio.listed()
    msg = row(rt, mid)
    assert (msg.status, msg.provider_sid) == ("sent", accepted["sid"])


def test_a_report_that_comes_while_the_lookup_records_the_send_is_applied(
        rt, twilio, tw, clock, short_timeout, monkeypatch):
    """The lookup found the lost send and records it; a report that comes after it took the
    early ones, before it committed, is kept as early by the webhook and applied all the
    same."""
    from test_outbound import callback

    p = teacher(rt)
    (mid,) = queue(rt, p, ["স্বাগতম"])
    twilio.delay_next(2.0)  # accepted at once, answered after the client gave up
    run_queued(rt)
    take, came = outbox._take_early, []

    def take_then_a_report_comes(rt_, keys, *write):
        taken = take(rt_, keys, *write)
        for key in keys[:1]:
            if not came:
                came.append(key)
                callback(tw, twilio, key[len(outbox.early_key("")):], "delivered")
        return taken

    monkeypatch.setattr(outbox, "_take_early", take_then_a_report_comes)
    clock.advance(minutes=2)
    run_scheduled(rt)
    outbox.sweep()
    run_queued(rt)

    (accepted,) = twilio.listed()
    assert came == [outbox.early_key(accepted["sid"])]
    assert (row(rt, mid).status, row(rt, mid).provider_sid) == ("delivered", accepted["sid"])


def test_a_request_that_timed_out_before_twilio_took_it_is_sent_after_the_lookup(
        rt, twilio, clock, short_timeout):
    p = teacher(rt)
    (mid,) = queue(rt, p, ["স্বাগতম"])
    twilio.delay_next(2.0, create=False)  # held, then dropped: Twilio never had it
    run_queued(rt)
    clock.advance(minutes=2)
    run_scheduled(rt)
    outbox.sweep()
    run_queued(rt)

    assert bodies(twilio) == ["স্বাগতম"]
    assert row(rt, mid).status == "sent"
    with rt.db.session() as db:
        outcomes = db.execute(select(DeliveryAttempt.outcome).where(
            DeliveryAttempt.message_id == mid).order_by(DeliveryAttempt.id)).scalars().all()
    assert outcomes == ["unknown", "sent"]


def test_a_same_text_sent_earlier_is_not_taken_for_the_lost_one(rt, twilio, clock, short_timeout):
    """The lookup matches To, From and body; a message we already know (its sid is ours)
    is not mistaken for the one whose answer was lost."""
    p = teacher(rt)
    queue(rt, p, ["বুঝতে পারিনি।"])
    run_queued(rt)
    (second,) = queue(rt, p, ["বুঝতে পারিনি।"])
    twilio.delay_next(2.0, create=False)
    run_queued(rt)
    clock.advance(minutes=2)
    run_scheduled(rt)
    outbox.sweep()
    run_queued(rt)
    assert bodies(twilio) == ["বুঝতে পারিনি।", "বুঝতে পারিনি।"]
    assert row(rt, second).provider_sid == twilio.listed()[-1]["sid"]


# D7: one person's replies, in the order of their turns -----------------------------------

def test_replies_of_two_turns_leave_in_turn_order_whichever_job_runs_first(rt, twilio):
    p = teacher(rt)
    first = queue(rt, p, ["প্রথম ১", "প্রথম ২"])
    second = queue(rt, p, ["দ্বিতীয়"])
    q = rt.queue("outbound")
    job1, job2 = q.fetch_job(f"send-{first[0]}-0"), q.fetch_job(f"send-{second[0]}-0")
    job2.func(*job2.args)  # the second turn's job reached a free worker first
    job1.func(*job1.args)
    assert bodies(twilio) == ["প্রথম ১", "প্রথম ২", "দ্বিতীয়"]


def test_a_later_turn_waits_behind_an_earlier_reply_that_twilio_deferred(rt, twilio, clock):
    p = teacher(rt)
    twilio.fail_rate_limited(times=1)
    first = queue(rt, p, ["প্রথম"])
    second = queue(rt, p, ["দ্বিতীয়"])
    q = rt.queue("outbound")
    q.fetch_job(f"send-{first[0]}-0").func(first)  # 429: deferred, with backoff
    q.fetch_job(f"send-{second[0]}-0").func(second)  # must not overtake it
    assert bodies(twilio) == []
    clock.advance(minutes=1)
    run_scheduled(rt)
    assert bodies(twilio) == ["প্রথম", "দ্বিতীয়"]


def test_the_adapter_tells_a_request_that_never_arrived_from_one_that_got_no_answer(
        twilio, short_timeout):
    """Refused: it cannot have reached Twilio, a plain retry. Silence after sending: Twilio
    may have it, an unknown outcome to look up."""
    from conftest import ACCOUNT_SID, AUTH_TOKEN
    from tcp_proxy import TcpProxy

    from bot.channels.base import Outgoing, RetryLater, Unknown
    from bot.channels.twilio_messaging import TwilioMessagingAdapter

    port = int(twilio.url.rsplit(":", 1)[1])
    with TcpProxy("127.0.0.1", port) as proxy:
        adapter = TwilioMessagingAdapter(ACCOUNT_SID, AUTH_TOKEN, SMS_FROM, None,
                                         f"http://127.0.0.1:{proxy.port}")
        msg = Outgoing(to="+8801711009901", channel="sms", body="স্বাগতম")
        try:
            proxy.refuse()
            assert isinstance(adapter.send(msg), RetryLater)
            proxy.hang()
            assert isinstance(adapter.send(msg), Unknown)
            proxy.pass_()
            assert adapter.lookup(msg, datetime.now(timezone.utc) - timedelta(hours=1)) == []
        finally:
            adapter.close()
    assert twilio.listed() == []
