"""kill -9 of a real `sathi worker` while a `handle` job sends its turns' replies itself (the
in-turn send, outbox.send_now): afterwards every reply has reached Twilio exactly once, in each
teacher's order, through the sweep, the lease and the lookup."""
import uuid
from collections import Counter, defaultdict

from chaos.chaos_helpers import kill_while_held, take_over_in_burst
from sqlalchemy import select

from bot.msgs import inbound, outbox
from bot.simulate import drain
from bot.store.models import Message, Person

TEACHERS = 20


def test_kill_9_during_an_in_turn_send_sends_each_reply_once_and_in_order(
        chaos_rt, twilio, clock):
    rt = chaos_rt
    with rt.db.session() as db:
        db.add_all([Person(phone=f"+88017130{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                           language="bn", channel="sms", created_at=rt.now())
                    for i in range(TEACHERS)])
    for text in ("hi", "1"):  # onboarding's welcome and question, then the language's answer
        for i in range(TEACHERS):
            inbound.accept(inbound.Incoming(sid=f"SM{uuid.uuid4().hex}", channel="sms",
                                            sender=f"+88017130{i:05d}", body=text))

    def hold_the_20th(stall):  # Twilio has taken it; the worker dies before the answer
        twilio.before_answer = lambda sid, form: stall() if len(twilio.listed()) == 20 else None

    env = {"SATHI_SMS_RATE": "0"}
    kill_while_held(rt, "inturn-worker-a", env, hold_the_20th)
    take_over_in_burst(rt, "inturn-worker-b", env)
    # past the lease, cron's sweeps settle what the dead job left: looked up, then sent or not
    clock.advance(minutes=5)
    inbound.sweep()
    outbox.sweep()
    drain(rt)

    with rt.db.session() as db:
        rows = db.execute(select(Message.address, Message.body, Message.status).where(
            Message.direction == "out").order_by(Message.id)).all()
        left = db.execute(select(Message.id).where(Message.direction == "in",
                                                   Message.status == "received")).all()
    assert not left
    assert {r.status for r in rows} == {"sent"}, Counter(r.status for r in rows)
    sent = twilio.listed()
    counts = Counter((m["to"], m["body"]) for m in sent)
    assert set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1][:5]
    assert len(counts) == len(rows)
    by_teacher, expected = defaultdict(list), defaultdict(list)
    for m in sent:
        by_teacher[m["to"]].append(m["body"])
    for r in rows:
        expected[r.address].append(r.body)
    assert by_teacher == expected
