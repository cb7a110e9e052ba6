"""Waits that run out are found from the database; sends that Twilio defers are retried."""

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from bot.msgs import inbound
from bot.store.models import FlowRun, Message

TEACHER = "+8801711000001"


def test_a_wait_that_runs_out_fires_once_even_after_redis_is_flushed(rt, roster, tw, work,
                                                                     twilio, clock, redis_conn):
    tw.sms(TEACHER, "hi")
    work()
    assert len(twilio.messages()) == 2
    redis_conn.flushdb()  # a restart that lost every scheduled job
    clock.advance(days=2, hours=23)
    assert inbound.expire_due() == 0  # not yet
    clock.advance(hours=1)  # Friday 10:00: due, but Friday is no school day
    assert inbound.expire_due() == 0
    clock.advance(days=1, hours=22, minutes=59)  # Sunday 08:59
    assert inbound.expire_due() == 0
    clock.advance(minutes=1)  # Sunday 09:00: the sending window opens
    assert inbound.expire_due() == 1
    assert inbound.expire_due() == 1  # the job has not run yet: enqueued again, same job id
    work()
    sent = [m["Body"] for m in twilio.messages()[2:]]
    assert len(sent) == 1 and "SMS" in sent[0]  # moved on to the channel question
    assert inbound.expire_due() == 0
    with rt.db.session() as db:
        run = db.execute(select(FlowRun)).scalar_one()
        assert run.session["node"] == "ask_channel" and run.timeout_at is not None


def test_an_answer_before_the_deadline_cancels_the_timeout(rt, roster, tw, work, twilio, clock):
    tw.sms(TEACHER, "hi")
    work()
    with rt.db.session() as db:
        run_id = db.execute(select(FlowRun.id)).scalar_one()
    clock.advance(days=1)
    tw.sms(TEACHER, "1")
    work()
    clock.advance(days=2, minutes=1)  # the first deadline has passed, the new one has not
    assert inbound.expire(run_id) == 0
    assert inbound.expire_due() == 0


def test_a_timeout_for_someone_who_stopped_sends_nothing(rt, roster, tw, work, twilio, clock):
    tw.sms(TEACHER, "hi")
    tw.sms(TEACHER, "STOP")
    work()
    n = len(twilio.messages())
    clock.advance(days=4)
    assert inbound.expire_due() == 0  # STOP ended the run
    assert len(twilio.messages()) == n


def test_429_is_retried_later_with_the_replies_behind_it_in_order(rt, roster, tw, work, twilio):
    twilio.fail_rate_limited(times=1)
    tw.sms(TEACHER, "hi")
    work()
    assert twilio.messages() == []  # the question waits behind the deferred welcome
    with rt.db.session() as db:
        first, second = db.execute(select(Message).where(Message.direction == "out")
                                   .order_by(Message.id)).scalars().all()
        assert (first.status, first.attempts, first.error_code) == ("queued", 1, 20429)
        assert (second.status, second.attempts) == ("queued", 0)
        assert first.next_attempt_at > rt.now()
    registry = ScheduledJobRegistry("outbound", connection=rt.redis)
    assert registry.get_job_ids() == [f"send-{first.id}-1"]
    # run the scheduled retry now instead of waiting 30 s
    job = rt.queue("outbound").fetch_job(f"send-{first.id}-1")
    assert job.args == ([first.id, second.id],)
    registry.remove(job.id)
    rt.queue("outbound").enqueue_job(job)
    work()
    with rt.db.session() as db:
        assert (db.get(Message, first.id).status, db.get(Message, first.id).attempts) == ("sent", 2)
    bodies = [m["Body"] for m in twilio.messages()]
    assert bodies[0].startswith("রহিমা বেগম") and "English" in bodies[1]


def test_a_reply_whose_job_was_lost_is_swept(rt, roster, tw, work, twilio, clock, redis_conn,
                                             monkeypatch):
    from bot.msgs import outbox
    tw.sms(TEACHER, "hi")
    from bot.simulate import QuietWorker  # RQ's SimpleWorker can wait a minute to stop

    def broken(*args):  # the turn's own send fails at once: its replies go to a send job
        raise RuntimeError("the worker lost its database connection")

    with monkeypatch.context() as m:
        m.setattr(outbox, "_send_in_order", broken)
        QuietWorker([rt.queue("inbound")], connection=rt.redis).work(burst=True)
    assert twilio.messages() == []
    assert rt.queue("outbound").count == 1  # the send job that takes them over
    redis_conn.flushdb()  # ... is lost
    assert outbox.sweep() == 0  # not late yet
    clock.advance(minutes=3)
    assert outbox.sweep() == 2
    work()
    assert len(twilio.messages()) == 2
    assert outbox.sweep() == 0


def test_status_callback_that_beats_the_send_is_applied(rt, roster, tw, work, twilio):
    """Twilio can call back before its REST answer reaches us, i.e. before we know the sid."""
    seen = []

    def callback_first(sid, form):
        seen.append(tw.post("/twilio/messaging/status", twilio.status_callback_params(
            sid, status="delivered", error_code=None)).status_code)

    twilio.before_answer = callback_first
    tw.sms(TEACHER, "hi")
    work()
    assert seen == [204, 204]
    with rt.db.session() as db:
        statuses = db.execute(select(Message.status).where(Message.direction == "out")).scalars()
        assert list(statuses) == ["delivered", "delivered"]
