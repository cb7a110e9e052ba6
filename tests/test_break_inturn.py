"""A turn's replies sent by the job that handled it (inbound.handle, outbox.send_now), attacked:
a later turn of the same job failing, and a send that outlasts the person's turn lock."""
import threading
import time

from sqlalchemy import select

from bot.msgs import session
from bot.msgs.turn import Turn
from bot.store.models import Message, Person

TEACHER = "+8801711000001"


def test_a_turn_that_fails_after_another_committed_does_not_hold_back_its_replies(
        rt, roster, tw, work, twilio, monkeypatch):
    """"hi" then a message whose turn fails (the database dropped mid-turn, a flow's bug):
    one job takes both. The replies to "hi" are committed and must go at once, not wait for
    the failing message's retries and then the outbox sweep (minutes)."""
    real = Turn.run

    def run(self):
        if self.msg.body == "boom":
            raise RuntimeError("the database connection dropped mid-turn")
        return real(self)

    monkeypatch.setattr(Turn, "run", run)
    tw.sms(TEACHER, "hi")
    tw.sms(TEACHER, "boom")
    work()
    assert len(twilio.messages()) == 2  # the welcome and the first question, to "hi"
    with rt.db.session() as db:
        status = db.execute(select(Message.status).where(
            Message.direction == "in", Message.body == "boom")).scalar_one()
    assert status == "received"  # rolled back: its job is retried


def test_a_long_in_turn_send_keeps_the_persons_turn(rt, roster, tw, work, twilio, monkeypatch):
    """Each REST call may take up to its timeout, and a job may send many replies: the
    person's turn lock (LOCK_TIMEOUT) must not run out while the job still sends, or another
    job acts for the same person beside it (and the first job's release fails)."""
    monkeypatch.setattr(session, "LOCK_TIMEOUT", 2)  # seconds, instead of 60
    twilio.delay_next(1.5, times=2)  # both replies answered late: 3 s of sending in all
    tw.sms(TEACHER, "hi")
    with rt.db.session() as db:
        person_id = db.execute(select(Person.id).where(Person.phone == TEACHER)).scalar_one()
    key = f"sathi:turn:{person_id}"
    seen: dict = {}

    def probe():  # another worker, trying for the person's turn while the job holds it
        while not rt.redis.exists(key) and "done" not in seen:
            time.sleep(0.01)
        while "done" not in seen:
            try:
                with session.locked(rt.redis, person_id, wait=0):
                    seen["taken"] = time.monotonic()
                    return
            except session.Busy:
                pass

    t = threading.Thread(target=probe)
    t.start()
    work()
    seen["done"] = time.monotonic()
    t.join()
    assert len(twilio.messages()) == 2
    # the other worker got the turn only once the job was done with it
    assert "taken" not in seen or seen["taken"] > seen["done"] - 0.3, seen
