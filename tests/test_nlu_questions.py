"""Questions in words are stored, acknowledged, and handed once to the headteacher's summary;
intents get sensible replies when no flow waits, and a waiting flow is not disturbed."""
from datetime import timedelta

from sqlalchemy import select

from bot.msgs import questions
from bot.store.models import FlowRun, Message, Person, Question

TEACHER = "+8801711000001"  # রহিমা বেগম; her school has other people in the demo roster


def _onboard(tw, work, phone=TEACHER):
    for text in ("hi", "1", "1"):
        tw.sms(phone, text)
        work()


def _bodies(twilio, since):
    return [m["Body"] for m in twilio.messages()[since:]]


def test_question_is_stored_acknowledged_and_forwarded_once(rt, roster, tw, work, twilio, clock):
    _onboard(tw, work)
    n = len(twilio.messages())
    tw.sms(TEACHER, "module 3 er video chole na")
    work()
    assert _bodies(twilio, n) == [rt.catalogues.text("nlu.question_saved", "bn")]
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == TEACHER)).scalar_one()
        q = db.execute(select(Question)).scalar_one()
        assert (q.person_id, q.text, q.intent, q.forwarded_at) == \
            (person.id, "module 3 er video chole na", "question", None)
        assert 0.35 <= q.confidence <= 1
        assert db.get(Message, q.message_id).body == q.text
        school = person.school_id
    clock.advance(days=3)
    with rt.db.session() as db:
        taken = questions.take_for_summary(db, school, rt.now())
        assert [t.text for t in taken] == ["module 3 er video chole na"]
    with rt.db.session() as db:
        assert questions.unforwarded(db, school) == []
        assert db.execute(select(Question.forwarded_at)).scalar() == clock.current


def test_summary_lists_only_the_schools_own_questions_oldest_first(rt, roster, clock):
    with rt.db.session() as db:
        people = db.execute(select(Person).where(Person.school_id.isnot(None))
                            .order_by(Person.id)).scalars().all()
        mine = people[0]
        other = next(p for p in people if p.school_id != mine.school_id)
        questions.store(db, mine, None, "second", "question", 0.9, rt.now() + timedelta(hours=1))
        questions.store(db, mine, None, "first", "call_me", 0.8, rt.now())
        questions.store(db, other, None, "elsewhere", "question", 0.9, rt.now())
    with rt.db.session() as db:
        assert [q.text for q in questions.unforwarded(db, mine.school_id)] == ["first", "second"]
        questions.take_for_summary(db, mine.school_id, rt.now())
    with rt.db.session() as db:
        assert questions.unforwarded(db, mine.school_id) == []
        assert [q.text for q in questions.unforwarded(db, other.school_id)] == ["elsewhere"]


def test_replies_to_intents_when_no_flow_waits(rt, roster, tw, work, twilio):
    _onboard(tw, work)
    t = rt.catalogues.text
    cases = [
        ("menu dekhan", [t("nlu.menu", "bn")]),
        ("amake ekta call diben", [t("nlu.call_saved", "bn")]),
        ("xqzv bnmw", [t("nlu.didnt_understand", "bn")]),
        ("ar sms diben na", [t("nlu.confirm_stop", "bn")]),  # asks; does not act
        ("ji korechi", [t("common.no_flow", "bn")]),
        ("switch to english", [t("nlu.language_set", "en")]),
        ("help me", [t("keyword.help", "en")]),
        ("dhonnobad", [t("nlu.thanks", "en")]),
        ("abar bolen", [t("keyword.help", "en")]),  # the last message with content, again
        ("bhasha bodlate chai", [t("nlu.ask_language", "en")]),
        ("বাংলা ভাষায় দিন", [t("nlu.language_set", "bn")]),
    ]
    for text, expected in cases:
        n = len(twilio.messages())
        tw.sms(TEACHER, text)
        work()
        assert _bodies(twilio, n) == expected, text
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == TEACHER)).scalar_one()
        assert person.opted_out_at is None and person.language == "bn"
        assert db.execute(select(Question.intent)).scalars().all() == ["call_me"]


def test_words_the_replies_suggest_are_understood(rt):
    """The menu and prompts tell teachers what to write; those words must work."""
    from bot import nlu

    for text, intent in [("মেনু", "menu"), ("MENU", "menu"), ("কল দিন", "call_me"),
                         ("CALL ME", "call_me"), ("ইংরেজি", "set_language"),
                         ("বাংলা", "set_language"), ("BANGLA", "set_language"),
                         ("ENGLISH", "set_language")]:
        assert nlu.understand(rt, text).intent == intent, text


def test_a_question_mid_flow_is_answered_and_the_flow_keeps_waiting(rt, roster, tw, work,
                                                                    twilio):
    tw.sms(TEACHER, "hi")
    work()
    with rt.db.session() as db:
        before = db.execute(select(FlowRun.session)).scalar_one()
    n = len(twilio.messages())
    tw.sms(TEACHER, "module 5 er worksheet kothay pabo?")
    work()
    assert _bodies(twilio, n) == [rt.catalogues.text("nlu.question_saved", "bn")]
    with rt.db.session() as db:
        assert db.execute(select(FlowRun.session)).scalar_one() == before  # tries untouched
    n = len(twilio.messages())
    tw.sms(TEACHER, "abar bolen")  # repeat: the flow's question, as it was
    work()
    assert _bodies(twilio, n) == [rt.catalogues.text("onboarding.ask_language", "bn")]
    tw.sms(TEACHER, "১")
    work()
    with rt.db.session() as db:
        assert db.execute(select(FlowRun.session)).scalar_one()["node"] == "ask_channel"


def test_an_unsure_guess_mid_flow_gets_the_flows_own_retry(rt, roster, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    work()
    n = len(twilio.messages())
    tw.sms(TEACHER, "xqzv bnmw")
    work()
    assert _bodies(twilio, n) == [rt.catalogues.text("onboarding.retry_language", "bn")]


def test_banglish_can_be_asked_for_by_name():
    from bot.msgs.replies import language_named

    for text, language in [("banglish e din", "bn-Latn"), ("ইংরেজি অক্ষরে বাংলা চাই", "bn-Latn"),
                           ("Bangla in English letters please", "bn-Latn"),
                           ("english please", "en"), ("বাংলায় দিন", "bn"),
                           ("bangla naki english?", None)]:
        assert language_named(text) == language, text
