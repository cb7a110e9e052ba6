"""kill -9 of a real `sathi worker` while the phone gateway (SMS Gateway for Android's double)
has taken a message and not yet answered: afterwards every message reached the phone exactly
once, in each teacher's order; the one whose answer was lost was found by its id, not re-sent."""
from collections import Counter, defaultdict
from dataclasses import replace

import pytest
from chaos.chaos_helpers import kill_while_held, take_over_in_burst, wait_until
from conftest import channels_file
from sqlalchemy import func, select

from bot.msgs import outbox
from bot.simulate import drain
from bot.store.models import DeliveryAttempt, Message, Person

TEACHERS, PER_TEACHER = 20, 15  # 300 messages
HOLD_AT = 100  # the phone's server takes this one and the worker dies before its answer


@pytest.fixture
def settings(settings, smsgate_env, tmp_path, monkeypatch):
    monkeypatch.setenv("SMSGATE_RATE", "0")  # no limit: the test is about the kill
    return replace(settings, channels_file=channels_file(tmp_path, "smsgate.yaml"))


def test_kill_9_a_worker_while_the_phone_holds_its_answer_sends_each_once(chaos_rt, smsgate,
                                                                         clock):
    rt = chaos_rt
    expected: dict[str, list[str]] = {}
    with rt.db.session() as db:
        people = [Person(phone=f"+88017130{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                         language="bn", channel="sms", created_at=rt.now())
                  for i in range(TEACHERS)]
        db.add_all(people)
        db.flush()
        turns = []
        for p in people:
            bodies = [f"শিক্ষক {p.id}: বার্তা {k}" for k in range(PER_TEACHER)]
            expected[p.phone] = bodies
            rows = [outbox.queue_text(db, person=p, address=p.phone, channel="sms",
                                      key="test.text", body=b, now=rt.now()) for b in bodies]
            for m in rows:
                m.provider = "phone"  # she texts the phone: answered from it
            turns.append([m.id for m in rows])
    for ids in turns:
        outbox.enqueue(ids)

    def hold(stall):
        smsgate.on_accept = lambda count: stall() if count == HOLD_AT else None

    env = {"SATHI_CHANNELS": str(rt.settings.channels_file)}
    kill_while_held(rt, "chaos-gw-a", env, hold)
    take_over_in_burst(rt, "chaos-gw-b", env)
    # past the lease, cron's sweep settles what the dead left: looked up at the phone first
    clock.advance(minutes=5)
    outbox.sweep()
    drain(rt)
    wait_until(lambda: len(smsgate.sent()) >= TEACHERS * PER_TEACHER, 30, what="every send")

    sent = smsgate.sent()
    counts = Counter(m["text"] for m in sent)
    assert len(counts) == TEACHERS * PER_TEACHER
    assert set(counts.values()) == {1}, [t for t, n in counts.items() if n > 1][:5]
    by_teacher = defaultdict(list)
    for m in sent:
        by_teacher[m["to"]].append(m["text"])
    assert by_teacher == expected
    with rt.db.session() as db:
        statuses = dict(db.execute(select(Message.status, func.count(Message.id))
                                   .group_by(Message.status)).all())
        found = db.execute(select(func.count(DeliveryAttempt.id)).where(
            DeliveryAttempt.outcome == "reconciled")).scalar()
    assert statuses == {"sent": TEACHERS * PER_TEACHER}
    assert found == 1  # the held one, found at the phone by our id
