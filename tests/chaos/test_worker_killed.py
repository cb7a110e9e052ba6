"""kill -9 of real `sathi worker` processes in the middle of a 2,000-message send: afterwards
every message has reached Twilio exactly once (the double counts), in each teacher's order."""
from collections import Counter, defaultdict

from chaos.chaos_helpers import expire_lock_of_the_dead, kill_while_held, wait_until
from processes import sathi_worker
from sqlalchemy import func, select

from bot.msgs import outbox
from bot.simulate import drain
from bot.store.models import DeliveryAttempt, Message, Person

TEACHERS, PER_TEACHER = 100, 20  # 2,000 messages


def test_kill_9_workers_during_a_2000_message_send_sends_each_once_and_in_order(
        chaos_rt, twilio, clock):
    rt = chaos_rt
    expected: dict[str, list[str]] = {}
    with rt.db.session() as db:
        people = [Person(phone=f"+88017120{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                         language="bn", channel="sms", created_at=rt.now())
                  for i in range(TEACHERS)]
        db.add_all(people)
        db.flush()
        turns = []
        for p in people:
            bodies = [f"শিক্ষক {p.id}: বার্তা {k}" for k in range(PER_TEACHER)]
            expected[p.phone] = bodies
            turns.append([outbox.queue_text(db, person=p, address=p.phone, channel="sms",
                                            key="test.text", body=b, now=rt.now()).id
                          for b in bodies])
    for ids in turns:
        outbox.enqueue(ids)

    # the first worker dies while Twilio has taken message 400 and not yet answered
    def hold_the_400th(stall):
        twilio.before_answer = lambda sid, form: stall() if len(twilio.listed()) == 400 else None

    env = {"SATHI_SMS_RATE": "0"}
    kill_while_held(rt, "chaos-worker-a", env, hold_the_400th)

    # two more share the rest; one of them dies wherever it happens to be, a few hundred
    # messages later, and the other (a burst worker) finishes what is queued
    b = sathi_worker(rt.settings, rt.redis, name="chaos-worker-b", **env)
    c = sathi_worker(rt.settings, rt.redis, name="chaos-worker-c", burst=True, **env)
    try:
        wait_until(lambda: len(twilio.listed()) >= 1200, 180, what="1,200 sends")
        b.kill9()
        expire_lock_of_the_dead(rt, b)
        assert c.wait(timeout=300) == 0, c.output()[-3000:]
    finally:
        b.stop()
        c.stop()
    # past the lease, cron's sweep settles what the dead left: looked up, then sent or not
    clock.advance(minutes=5)
    outbox.sweep()
    drain(rt)

    sent = twilio.listed()
    counts = Counter(m["body"] for m in sent)
    assert len(counts) == TEACHERS * PER_TEACHER
    assert set(counts.values()) == {1}, [b for b, n in counts.items() if n > 1][:5]
    by_teacher = defaultdict(list)
    for m in sent:
        by_teacher[m["to"]].append(m["body"])
    assert by_teacher == expected
    with rt.db.session() as db:
        statuses = dict(db.execute(select(Message.status, func.count(Message.id))
                                   .group_by(Message.status)).all())
    assert statuses == {"sent": TEACHERS * PER_TEACHER}
    with rt.db.session() as db:  # the one Twilio took while its worker died was found there
        found = db.execute(select(func.count(DeliveryAttempt.id)).where(
            DeliveryAttempt.outcome == "reconciled")).scalar()
    assert found >= 1
