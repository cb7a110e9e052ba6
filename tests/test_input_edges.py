"""Input at the edges (D8): a sender that is not a phone number, WhatsApp media, and bodies
longer than Twilio allows."""
from sqlalchemy import select

from bot.campaigns.content import activity_fields
from bot.msgs.turn import Turn
from bot.store.models import FlowRun, Message, Person

TEACHER = "+8801711000001"
PHOTO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def inbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "in")
                          .order_by(Message.id)).scalars().all()


def outbound(rt):
    with rt.db.session() as db:
        return db.execute(select(Message).where(Message.direction == "out")
                          .order_by(Message.id)).scalars().all()


def test_a_sender_that_is_not_a_phone_number_is_recorded_and_never_answered(
        rt, roster, tw, work, twilio):
    for n, sender in enumerate(["abc", "whatsapp:junk"]):
        form = {"MessageSid": f"SM{n}" + "b" * 31, "From": sender, "To": "+15005550006",
                "Body": "hello", "NumMedia": "0"}
        assert tw.post("/twilio/messaging", form).status_code == 200
    work()
    assert [(m.address, m.channel) for m in inbound(rt)] == [("abc", "sms"), ("junk", "whatsapp")]
    assert twilio.messages() == []
    assert outbound(rt) == []


def photo(tw, body=""):
    form = {"MessageSid": "MM" + "c" * 32, "From": "whatsapp:" + TEACHER,
            "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "1",
            "MediaUrl0": PHOTO, "MediaContentType0": "image/jpeg"}
    return tw.post("/twilio/messaging", form)


def test_whatsapp_media_is_kept_on_the_message(rt, roster, tw):
    assert photo(tw, body="আজকের ক্লাস").status_code == 200
    (msg,) = inbound(rt)
    assert msg.body == "আজকের ক্লাস"
    assert msg.media == [{"url": PHOTO, "type": "image/jpeg"}]


def test_a_photo_of_what_learners_did_answers_the_reflection(rt, roster, tw, work, twilio):
    """A photo with no caption is not empty text: the reflection's "what did learners
    learn?" routes on media, keeps the photo and asks the next question."""
    with rt.db.session() as db:
        person = db.execute(select(Person).where(Person.phone == TEACHER)).scalar_one()
        person.onboarded_at, person.channel = rt.now(), "whatsapp"
        activity = rt.content.activities[0]
        turn = Turn(db, None, rt.now(), person=person, channel="whatsapp")
        run = turn.start_flow("reflection", {**activity_fields(activity, "bn"),
                                             "activity": activity.id})
        run_id = run.id
    tw.sms(TEACHER, "১", channel="whatsapp")  # tried it: now asked what learners learned
    work()
    twilio.clear()
    assert photo(tw).status_code == 200
    work()
    with rt.db.session() as db:
        run = db.get(FlowRun, run_id)
        assert run.session["node"] == "worked"  # on to what worked well
        assert run.session["fields"]["learned"] == PHOTO
    (asked,) = twilio.messages()
    assert asked["Body"] == rt.catalogues.text("weekly.reflect_worked", "bn")


def test_a_body_longer_than_twilio_allows_is_cut_at_1600_characters(rt, roster, tw):
    assert tw.sms(TEACHER, "ক" * 5000).status_code == 200
    (msg,) = inbound(rt)
    assert msg.body == "ক" * 1600
