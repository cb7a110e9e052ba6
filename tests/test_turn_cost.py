"""What one teacher's message costs the database (issue 16), counted, never timed: a change
that adds a statement to every turn or every reply fails here, where a bench would only drift.

A rostered teacher texts "hi": the worker claims it, starts onboarding and writes two replies,
then, in the same job, sends both to the Twilio double (`handle`)."""
from sqlalchemy import event

from bot.store.models import Person


def statements_of(rt, run) -> list[str]:
    """The statements `run` sends, but the console's content edits, looked at every 10 s of
    the machine's clock, whatever the turns do (under load one may fall in the window)."""
    seen: list[str] = []
    listen = (lambda conn, cursor, statement, params, context, many:
              "content_audit" in statement or seen.append(" ".join(statement.split())[:120]))
    event.listen(rt.db.engine, "before_cursor_execute", listen)
    try:
        run()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", listen)
    return seen


def test_a_two_reply_turn_takes_at_most_14_statements(rt, tw, work, twilio):
    phone = "+8801711000001"
    with rt.db.session() as db:
        db.add(Person(phone=phone, name="শিক্ষক ১", role="teacher", language="bn", channel="sms",
                      created_at=rt.now()))
    rt.content  # the console's edits are looked at every 10 s, not per turn: not counted here
    tw.sms(phone, "hi")
    seen = statements_of(rt, work)
    assert len(twilio.messages()) == 2
    handling = [s for s in seen if "delivery_attempt" not in s]
    # handling: the claim, the person, the run (read once), what was understood, the
    # invitation it answers, the consent, the flow run (its timeout in it), the replies (one
    # insert), whether another message waits; sending: the pending replies, then per reply
    # its claim and its outcome with the attempt (the rows as the turn wrote them, the person
    # as the turn read them, and the provider of the message just handled: nothing read
    # again). SQLite takes three more: the replies one insert each, and the outcome and the
    # attempt of a reply two statements (PostgreSQL writes them in one)
    most = 14 if rt.db.engine.dialect.name == "postgresql" else 17
    assert len(seen) <= most, "\n".join(seen)
    assert sum(s.startswith("SELECT person.") for s in seen) == 1, "\n".join(seen)
    assert sum(s.startswith("SELECT flow_run.") for s in seen) == 1, "\n".join(seen)
    assert not any(s.startswith("SELECT message.provider") for s in seen), "\n".join(handling)
    assert not any(s.startswith("SELECT message.id, message.direction") for s in seen), \
        "\n".join(handling)
