"""A turn's replies sent by the job that handled it (inbound.handle, outbox.send_now), attacked:
a later turn of the same job failing."""
from sqlalchemy import select

from bot.msgs.turn import Turn
from bot.store.models import Message

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

