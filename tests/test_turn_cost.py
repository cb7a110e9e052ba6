"""What one teacher's message costs the database (issue 16), counted, never timed: a change
that adds a statement to every turn or every reply fails here, where a bench would only drift.

A rostered teacher texts "hi": the worker claims it, starts onboarding and writes two replies
(`handle`), then sends both to the Twilio double (`send`)."""
from sqlalchemy import event

from bot.store.models import Person


def statements_of(rt, run) -> list[str]:
    seen: list[str] = []
    listen = (lambda conn, cursor, statement, params, context, many:
              seen.append(" ".join(statement.split())[:120]))
    event.listen(rt.db.engine, "before_cursor_execute", listen)
    try:
        run()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", listen)
    return seen


def test_a_two_reply_turn_takes_at_most_23_statements(rt, tw, work, twilio):
    phone = "+8801711000001"
    with rt.db.session() as db:
        db.add(Person(phone=phone, name="শিক্ষক ১", role="teacher", language="bn", channel="sms",
                      created_at=rt.now()))
    rt.content  # the console's edits are looked at every 10 s, not per turn: not counted here
    tw.sms(phone, "hi")
    seen = statements_of(rt, work)
    assert len(twilio.messages()) == 2
    handling = [s for s in seen if "delivery_attempt" not in s]
    # handling: the claim, the person, the run, what was understood, the invitation it
    # answers, the consent, the flow run, its timeout, the replies (one insert); sending: the
    # pending replies, then per reply the row, its claim, the attempt and the outcome (the
    # person and their last inbound provider read once for both)
    assert len(seen) <= 23, "\n".join(seen)
    assert sum(s.startswith("SELECT person.") for s in seen) <= 2, "\n".join(seen)
    assert sum("FROM message WHERE message.person_id" in s and s.startswith("SELECT message.provider")
               for s in seen) <= 1, "\n".join(handling)
