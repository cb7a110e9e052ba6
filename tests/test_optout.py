"""STOP overrides everything, from any point in any flow; START resumes; HELP explains."""
import pytest
from sqlalchemy import select

from bot.store.models import FlowRun, Message, Person

TEACHER = "+8801711000001"  # Bangla, SMS
EN_TEACHER = "+8801711000002"  # English, WhatsApp


def bodies(twilio):
    return [m["Body"] for m in twilio.messages()]


def person(rt, phone):
    with rt.db.session() as db:
        return db.execute(select(Person).where(Person.phone == phone)).scalar_one()


@pytest.mark.parametrize("stop", ["STOP", "stop.", "Stop please", "বন্ধ", "বন্ধ করুন",
                                  "bondho", "UNSUBSCRIBE", "stpo", "STOP ALL",
                                  "SMS bondho koren", "দয়া করে বন্ধ করুন", "  Cancel! "])
def test_stop_mid_flow_stops_everything(rt, roster, tw, work, twilio, stop):
    tw.sms(TEACHER, "hi")
    work()
    assert len(twilio.messages()) == 2  # welcome + language question: the flow is waiting
    tw.sms(TEACHER, stop)
    work()
    sent = bodies(twilio)
    assert len(sent) == 3
    assert "চালু" in sent[2]  # one confirmation, saying how to come back
    assert person(rt, TEACHER).opted_out
    with rt.db.session() as db:
        assert db.execute(select(FlowRun.status)).scalar_one() == "interrupted"
    for text in ("1", "hello", "STOP", "২"):  # nothing more, not even a second confirmation
        tw.sms(TEACHER, text)
    work()
    assert len(twilio.messages()) == 3


@pytest.mark.parametrize("text", ["stop by the school tomorrow", "bondho chilo school",
                                  "end of the lesson went well", "shop"])
def test_words_that_only_contain_a_keyword_are_not_a_stop(rt, roster, tw, work, twilio, text):
    tw.sms(TEACHER, "hi")
    work()
    tw.sms(TEACHER, text)
    work()
    assert not person(rt, TEACHER).opted_out


def test_messages_queued_before_stop_are_not_sent_after_it(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")  # its replies will be queued ...
    tw.sms(TEACHER, "বন্ধ")  # ... but STOP is handled before any of them is sent
    work()
    sent = bodies(twilio)
    assert len(sent) == 1 and "চালু" in sent[0]
    with rt.db.session() as db:
        statuses = db.execute(select(Message.key, Message.status)
                              .where(Message.direction == "out")).all()
    assert sorted(s for _, s in statuses) == ["sent", "suppressed", "suppressed"]


def test_start_resumes_and_help_explains(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    tw.sms(TEACHER, "1")
    tw.sms(TEACHER, "1")  # Bangla, SMS: onboarding complete
    work()
    tw.sms(TEACHER, "STOP")
    work()
    n = len(twilio.messages())
    tw.sms(TEACHER, "চালু")
    work()
    sent = bodies(twilio)[n:]
    assert len(sent) == 1 and "স্বাগতম" in sent[0]
    assert not person(rt, TEACHER).opted_out
    tw.sms(TEACHER, "সাহায্য")
    work()
    assert "বন্ধ" in bodies(twilio)[-1] and "চালু" in bodies(twilio)[-1]


def test_help_keeps_the_question_open(rt, roster, tw, work, twilio):
    tw.sms(EN_TEACHER, "hi", channel="whatsapp")
    work()
    tw.sms(EN_TEACHER, "HELP", channel="whatsapp")
    work()
    assert "STOP" in bodies(twilio)[-1]
    tw.sms(EN_TEACHER, "2", channel="whatsapp")  # answers the language question still open
    work()
    assert "WhatsApp" in bodies(twilio)[-1] and "Reply 1 for SMS" in bodies(twilio)[-1]


def test_start_before_onboarding_starts_it(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "START")
    work()
    assert "রহিমা বেগম" in bodies(twilio)[0]


def test_twilio_21610_marks_the_person_opted_out(rt, roster, tw, work, twilio):
    twilio.fail_unsubscribed(to=TEACHER)
    tw.sms(TEACHER, "hi")
    work()
    assert person(rt, TEACHER).opted_out
    assert twilio.messages() == []  # the second reply was not even tried
    with rt.db.session() as db:
        rows = db.execute(select(Message.status, Message.error_code)
                          .where(Message.direction == "out").order_by(Message.id)).all()
    assert [tuple(r) for r in rows] == [("failed", 21610), ("suppressed", None)]


def test_help_after_stop_is_answered_and_nothing_else(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    tw.sms(TEACHER, "STOP")
    work()
    n = len(twilio.messages())
    tw.sms(TEACHER, "সাহায্য")  # they asked: tell them how to come back
    tw.sms(TEACHER, "hello")
    work()
    sent = bodies(twilio)[n:]
    assert len(sent) == 1 and "চালু" in sent[0]
    assert person(rt, TEACHER).opted_out
