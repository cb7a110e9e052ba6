"""Abuse: a flood from one number is throttled, and an auto-reply loop with another bot is
detected and stopped; nothing is lost either way, and STOP still works."""
from sqlalchemy import func, select

from bot.msgs import abuse
from bot.store.models import Message, Person

TEACHER = "+8801711000001"


def onboarded(rt, phone=TEACHER):
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == phone)).scalar_one()
        person.onboarded_at = rt.now()


def statuses(rt, direction="in"):
    with rt.db.session() as db:
        return db.execute(select(Message.status).where(Message.direction == direction)
                          .order_by(Message.id)).scalars().all()


def replies(twilio):
    return [m["Body"] for m in twilio.messages()]


def test_a_flood_from_one_number_is_recorded_and_throttled(rt, roster, tw, work, twilio,
                                                           clock, monkeypatch):
    monkeypatch.setattr(abuse, "FLOOD_LIMIT", 5)
    onboarded(rt)
    for n in range(9):
        assert tw.sms(TEACHER, f"প্রশ্ন {n}").status_code == 200
    work()
    assert statuses(rt) == ["handled"] * 5 + ["throttled"] * 4  # all nine on record
    sent = replies(twilio)
    assert len(sent) == 6  # five answered, then one polite notice, then quiet
    assert sent[-1] == rt.catalogues.text("common.slow_down", "bn")

    tw.sms(TEACHER, "বন্ধ")  # STOP is honoured in the middle of a flood
    work()
    with rt.db.session() as db:
        assert db.execute(select(Person.opted_out_at).where(Person.phone == TEACHER)).scalar()
    assert replies(twilio)[-1] == rt.catalogues.text("keyword.stop_confirmed", "bn")

    clock.advance(minutes=1)  # a new minute: answered again
    tw.sms(TEACHER, "চালু")
    work()
    assert statuses(rt)[-1] == "handled"
    assert replies(twilio)[-1] == rt.catalogues.text("keyword.start_confirmed", "bn")


def test_an_auto_reply_loop_with_another_bot_is_stopped(rt, roster, tw, work, twilio, clock):
    """The teacher's phone has an auto-responder: it answers every message we send, and our
    "didn't understand" answers it. The loop is caught, the number muted for a while with
    one notice, and every message of the loop is still on record."""
    onboarded(rt)
    tw.sms(TEACHER, "Auto-reply: I am away from my phone.")
    rounds = 0
    while rounds < 60:
        before = len(twilio.messages())
        work()
        ours = twilio.messages()[before:]
        if not ours:
            break
        for _ in ours:  # the other bot answers each of ours, instantly
            tw.sms(TEACHER, "Auto-reply: I am away from my phone.")
        rounds += 1
    assert rounds < 60, "the loop never stopped"
    sent = replies(twilio)
    assert len(sent) == abuse.LOOP_REPEATS + 1  # the loop's replies, then one notice
    assert sent[-1] == rt.catalogues.text("common.paused", "bn")
    received = statuses(rt)
    assert received.count("throttled") >= 1 and len(received) == len(sent) + 1
    with rt.db.session() as db:
        assert db.execute(select(func.count(Message.id)).where(
            Message.direction == "in")).scalar() == len(received)

    clock.advance(minutes=31)  # the mute is over: a real question is answered
    tw.sms(TEACHER, "মডিউল ৩ এর ভিডিও চলে না")
    work()
    assert len(replies(twilio)) > len(sent)
