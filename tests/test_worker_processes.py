"""`sathi worker --processes N`: N worker processes (RQ's worker pool) running jobs without a
fork per job, with the job timeout still enforced and a job whose process died still retried.
Real `sathi worker` processes on the test's database and Redis; Twilio is the local double."""
import os
import signal
import time

from processes import sathi_worker
from rq import Worker
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from bot.msgs import inbound
from bot.store.models import Message, Person


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up after {timeout} s waiting for {what}")


def test_a_job_over_its_timeout_is_stopped_marked_failed_and_the_worker_goes_on(rt, settings):
    q = rt.queue("default")
    slow = q.enqueue("time.sleep", 60, job_timeout=1)
    after = [q.enqueue("time.sleep", 0) for _ in range(3)]
    w = sathi_worker(settings, rt.redis, name="pool-timeout", burst=True, processes=2)
    try:
        assert w.wait(timeout=180) == 0, w.output()[-3000:]
    finally:
        w.stop()
    assert slow.get_status(refresh=True) == "failed"
    slow.refresh()
    assert (slow.ended_at - slow.started_at).total_seconds() < 30  # not the 60 s it asked for
    assert "JobTimeoutException" in slow.latest_result().exc_string
    assert [j.get_status(refresh=True) for j in after] == ["finished"] * 3


def test_a_job_whose_worker_process_is_killed_is_retried_and_its_replies_sent_once(
        rt, settings, twilio):
    with rt.db.session() as db:
        person = Person(phone="+8801711000001", name="রহিমা", role="teacher", language="bn",
                        channel="sms", created_at=rt.now())
        db.add(person)
    # the turn waits for the person's lock, which the test holds: the job is mid-way when
    # its process is killed
    lock = rt.redis.lock(f"sathi:turn:{person.id}", timeout=120)
    assert lock.acquire()
    assert inbound.accept(inbound.Incoming(sid="SMkilled1", channel="sms",
                                           sender=person.phone, body="hi"))
    with rt.db.session() as db:
        message_id = db.execute(select(Message.id).where(
            Message.provider_sid == "SMkilled1")).scalar()
    job_id = f"in-{message_id}"
    w = sathi_worker(settings, rt.redis, name="pool-kill", processes=2, SATHI_SMS_RATE="0")
    try:
        holder = wait_until(lambda: next((x for x in Worker.all(connection=rt.redis)
                                          if x.get_current_job_id() == job_id), None),
                            180, "a worker to take the job")
        assert holder.pid != w.pid  # a process of the pool, not the pool itself
        os.kill(holder.pid, signal.SIGKILL)
        lock.release()
        # the pool starts another process in its place
        wait_until(lambda: len([p for p in w.descendants() if p != holder.pid
                                and os.path.exists(f"/proc/{p}")]) >= 2, 120,
                   "the pool to replace the dead process")
        # RQ's maintenance, once the dead job's lease is over, retries it (BUSY_RETRY)
        registry = StartedJobRegistry(queue=rt.queue("inbound"))
        assert job_id in [j.split(":")[0] for j in registry.get_job_ids()]
        registry.cleanup(time.time() + 3600)
        # a finished `handle` job is deleted at once (inbound.HANDLE_JOB: result_ttl=0)
        wait_until(lambda: rt.queue("inbound").fetch_job(job_id) is None, 120,
                   "the retried job to finish")
        wait_until(lambda: len(twilio.messages()) >= 1 and _settled(rt), 120, "the replies")
        time.sleep(1)  # nothing more arrives
    finally:
        w.stop()
    with rt.db.session() as db:
        status = db.execute(select(Message.status).where(Message.id == message_id)).scalar()
        out = db.execute(select(Message.id, Message.status).where(
            Message.direction == "out")).all()
    assert status == "handled"
    assert out and all(s == "sent" for _, s in out)
    assert len(twilio.messages()) == len(out)  # each reply once


def _settled(rt) -> bool:
    with rt.db.session() as db:
        return not db.execute(select(Message.id).where(
            Message.direction == "out", Message.status.in_(("queued", "sending")))).first()
