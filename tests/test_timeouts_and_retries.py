"""Waits that run out are found from the database; sends that Twilio defers are retried."""
from datetime import timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from bot import inbound
from bot.models import FlowRun, Message

TEACHER = "+8801711000001"


def test_a_wait_that_runs_out_fires_once_even_after_redis_is_flushed(rt, roster, tw, work,
                                                                     twilio, clock, redis_conn):
    tw.sms(TEACHER, "hi")
    work()
    assert len(twilio.messages()) == 2
    redis_conn.flushdb()  # a restart that lost every scheduled job
    clock.advance(days=2, hours=23)
    assert inbound.expire_due() == 0  # not yet
    clock.advance(hours=1)
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


def test_429_is_retried_later_and_then_delivered(rt, roster, tw, work, twilio):
    twilio.fail_rate_limited(times=1)
    tw.sms(TEACHER, "hi")
    work()
    assert len(twilio.messages()) == 1  # the second reply went; the first was deferred
    with rt.db.session() as db:
        first = db.execute(select(Message).where(Message.direction == "out")
                           .order_by(Message.id)).scalars().first()
        assert (first.status, first.attempts, first.error_code) == ("queued", 1, 20429)
    registry = ScheduledJobRegistry("outbound", connection=rt.redis)
    job_ids = registry.get_job_ids()
    assert job_ids == [f"send-{first.id}-1"]
    scheduled = registry.get_scheduled_time(job_ids[0])
    assert scheduled is not None
    # run the scheduler's due jobs now instead of waiting 30 s
    registry.remove(job_ids[0])
    rt.queue("outbound").enqueue_job(rt.queue("outbound").fetch_job(job_ids[0]))
    work()
    with rt.db.session() as db:
        first = db.get(Message, first.id)
        assert (first.status, first.attempts) == ("sent", 2)
    assert twilio.messages()[-1]["Body"].startswith("রহিমা বেগম")


def test_a_permanent_error_is_not_retried(rt, roster, tw, work, twilio):
    twilio.fail_invalid_to(times=2)
    tw.sms(TEACHER, "hi")
    work()
    with rt.db.session() as db:
        rows = db.execute(select(Message.status, Message.error_code, Message.attempts)
                          .where(Message.direction == "out")).all()
    assert sorted(tuple(r) for r in rows) == [("failed", 21211, 1), ("failed", 21211, 1)]
    assert ScheduledJobRegistry("outbound", connection=rt.redis).get_job_ids() == []


def test_twilio_unreachable_is_retried_not_lost(rt, roster, tw, work, twilio):
    twilio.stop()  # nothing listens on the API port now
    tw.sms(TEACHER, "hi")
    work()
    with rt.db.session() as db:
        rows = db.execute(select(Message.status, Message.attempts)
                          .where(Message.direction == "out")).all()
    assert [tuple(r) for r in rows] == [("queued", 1), ("queued", 1)]
    assert len(ScheduledJobRegistry("outbound", connection=rt.redis).get_job_ids()) == 2
