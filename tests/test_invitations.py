"""Invitations: a rostered person who never wrote in gets one invitation and at most one
reminder a week later; WhatsApp goes by the approved template (or SMS); a reply starts
onboarding and is kept as consent, with the invitation's text version."""
import json
import shutil
import threading
from dataclasses import replace
from datetime import datetime, timedelta

from click.testing import CliRunner
from conftest import SMS_FROM, WHATSAPP_FROM
from sqlalchemy import select

from bot.campaigns import fanout as campaign
from bot.cli import main
from bot.config import ROOT
from bot.contacts import consent
from bot.store.models import CampaignRun, Consent, DeliveryAttempt, Message, Person, School
from bot.store.models import FlowRun

TEMPLATE_SID = "HX" + "b" * 32
TUESDAY_10 = datetime.fromisoformat("2026-12-01T10:00:00+06:00")  # 2026-W49: the invite's day


def rostered(rt, now, n=3, channel="sms"):
    """n teachers who never wrote in; phones +8801911000000 onwards."""
    with rt.db.session() as db:
        school = School(emis="93000001", name="স্কুল", upazila="চরফ্যাশন", district="ভোলা")
        db.add(school)
        db.flush()
        people = [Person(phone=f"+88019110{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                         school_id=school.id, language="bn", channel=channel,
                         created_at=now) for i in range(n)]
        db.add_all(people)
    return [p.phone for p in people]


def rows(rt, **where):
    with rt.db.session() as db:
        q = select(CampaignRun).order_by(CampaignRun.id)
        for k, v in where.items():
            q = q.where(getattr(CampaignRun, k) == v)
        return db.execute(q).scalars().all()


def run(rt, name, now):
    campaign.plan(rt, name, rt.calendar.week_of(now), now, immediately=True)
    campaign.dispatch(rt, now, force=True, hand_over=campaign.deliver)


def test_invite_reaches_only_those_who_never_wrote_in(rt, twilio, work, clock):
    clock.current = TUESDAY_10
    phones = rostered(rt, clock())
    with rt.db.session() as db:
        db.add_all([
            Person(phone="+8801922000001", name="যুক্ত", role="teacher", language="bn",
                   channel="sms", onboarded_at=clock(), created_at=clock()),
            Person(phone="+8801922000002", name="বন্ধ", role="teacher", language="bn",
                   channel="sms", opted_out_at=clock(), created_at=clock()),
            Person(phone="+8801922000003", name="প্রধান", role="headteacher", language="bn",
                   channel="voice", created_at=clock()),  # invited by their first call
            Person(phone="+8801922000005", name="অফিসার", role="officer", language="en",
                   channel="sms", upazila="চরফ্যাশন", created_at=clock())])
        wrote = Person(phone="+8801922000004", name="লিখেছেন", role="teacher", language="bn",
                       channel="sms", created_at=clock())
        db.add(wrote)
        db.flush()
        db.add(Message(direction="in", channel="sms", person_id=wrote.id, address=wrote.phone,
                       body="?", status="handled", created_at=clock(), updated_at=clock()))
    out = CliRunner().invoke(main, ["campaign", "run", "invite", "--now"])
    assert out.exit_code == 0, out.output
    assert "invite 2026-W49: 4 planned now" in out.output
    work()
    sent = {m["To"]: m["Body"] for m in twilio.messages()}
    assert set(sent) == {*phones, "+8801922000005"}
    assert all(body.startswith("শিক্ষক সাথী (উপজেলা শিক্ষা অফিস ও আনন্দে গণিত শিখি)")
               for to, body in sent.items() if to in phones)
    assert "summary of maths practice" in sent["+8801922000005"]  # the officer's, in English
    # each row keeps the invitation's text version, the same for the same language
    versions = {r.variant for r in rows(rt, campaign="invite")}
    assert len(versions) == 2 and all(len(v) == 12 for v in versions)


def test_two_concurrent_runs_send_one_invitation_each(rt, twilio, work, clock):
    clock.current = TUESDAY_10
    phones = rostered(rt, clock(), n=30)
    barrier = threading.Barrier(2)
    errors = []

    def operator():
        try:
            barrier.wait()
            campaign.plan(rt, "invite", "2026-W49", clock(), immediately=True)
            barrier.wait()
            campaign.dispatch(rt, clock(), force=True, hand_over=campaign.deliver)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=operator) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    run(rt, "invite", clock())  # and once more by hand: nobody has it twice
    work()
    assert sorted(m["To"] for m in twilio.messages()) == sorted(phones)


def test_one_reminder_a_week_later_to_those_who_did_not_reply_then_nothing(
        rt, tw, twilio, work, clock):
    clock.current = TUESDAY_10
    quiet, replies, stops = rostered(rt, clock())
    for name in ("invite", "invite_again"):
        run(rt, name, clock())
    work()
    assert len(twilio.messages()) == 3  # the reminder waits for a week: nobody had one before
    clock.advance(hours=2)
    tw.sms(replies, "ha")  # starts onboarding
    tw.sms(stops, "বন্ধ")
    work()
    twilio.clear()
    for week in range(1, 4):  # a week later, and the weeks after
        clock.current = TUESDAY_10 + timedelta(weeks=week)
        for name in ("invite", "invite_again"):
            run(rt, name, clock())
        work()
    reminders = twilio.messages()
    assert [m["To"] for m in reminders] == [quiet]  # once, only to the one who did not reply
    assert reminders[0]["Body"].endswith("এরপর আর লিখব না।")
    assert [r.week for r in rows(rt, campaign="invite_again", status="sent")] == ["2026-W50"]


def test_someone_who_writes_in_before_the_send_is_not_invited(rt, tw, twilio, work, clock):
    clock.current = TUESDAY_10
    (phone,) = rostered(rt, clock(), n=1)
    campaign.plan(rt, "invite", "2026-W49", clock())  # spread over the day
    tw.sms(phone, "hello")  # writes in first: onboarding starts
    work()
    welcome = len(twilio.messages())
    clock.current = TUESDAY_10 + timedelta(hours=1)
    assert campaign.dispatch(rt, clock(), hand_over=campaign.deliver) == 1
    work()
    assert len(twilio.messages()) == welcome
    assert [r.note for r in rows(rt, campaign="invite")] == ["not_in_audience"]


def test_whatsapp_invitations_go_as_the_approved_template_from_the_first_try(
        rt, twilio, work, clock):
    rt.settings = replace(rt.settings, twilio_whatsapp_template_sid=TEMPLATE_SID,
                          whatsapp_template_variables='{"1": "name", "2": "body"}')
    clock.current = TUESDAY_10
    (phone,) = rostered(rt, clock(), n=1, channel="whatsapp")
    twilio.close_whatsapp_session("whatsapp:" + phone)  # free text would be refused (63016)
    run(rt, "invite", clock())
    work()
    (sent,) = twilio.messages()
    assert sent["To"] == "whatsapp:" + phone and sent["From"] == "whatsapp:" + WHATSAPP_FROM
    assert sent["ContentSid"] == TEMPLATE_SID and "Body" not in sent
    variables = json.loads(sent["ContentVariables"])
    assert variables["1"] == "শিক্ষক 0" and variables["2"].startswith("শিক্ষক সাথী")
    with rt.db.session() as db:
        outcomes = db.execute(select(DeliveryAttempt.outcome, DeliveryAttempt.error_code)
                              .order_by(DeliveryAttempt.id)).all()
    assert outcomes == [("template", None), ("sent", None)]  # no refused free-text try


def test_without_a_template_whatsapp_invitations_go_by_sms(rt, twilio, work, clock):
    clock.current = TUESDAY_10
    (phone,) = rostered(rt, clock(), n=1, channel="whatsapp")
    run(rt, "invite", clock())
    work()
    (sent,) = twilio.messages()
    assert (sent["To"], sent["From"]) == (phone, SMS_FROM)
    with rt.db.session() as db:
        assert db.execute(select(Message.channel).where(Message.direction == "out")
                          ).scalars().all() == ["sms"]


def consents(rt):
    with rt.db.session() as db:
        return db.execute(select(Consent).order_by(Consent.id)).scalars().all()


def test_a_reply_is_consent_with_when_channel_and_text_version(rt, tw, twilio, work, clock):
    clock.current = TUESDAY_10
    invited, uninvited = rostered(rt, clock(), n=2)
    with rt.db.session() as db:  # the second joined the roster after this week's invitations
        db.execute(CampaignRun.__table__.insert().values(
            campaign="invite", week="2026-W49", person_id=db.execute(select(Person.id).where(
                Person.phone == uninvited)).scalar(), status="skipped", note="week_over",
            planned_at=clock()))
    run(rt, "invite", clock())
    work()
    clock.advance(hours=3)
    tw.sms(invited, "1", channel="whatsapp")  # answers on WhatsApp, invited by SMS
    tw.sms(uninvited, "hi")
    work()
    tw.sms(invited, "1", channel="whatsapp")  # within onboarding: no second consent
    work()
    (row,) = rows(rt, campaign="invite", status="sent")
    first, second = consents(rt)
    assert (first.channel, first.given_at, first.campaign, first.invitation_id,
            first.text_version, first.language) == ("whatsapp", clock(), "invite", row.id,
                                                    row.variant, "bn")
    assert first.message_id is not None
    assert (second.channel, second.campaign, second.text_version) == ("sms", None, None)


def test_stop_in_answer_to_an_invitation_is_no_consent(rt, tw, twilio, work, clock):
    clock.current = TUESDAY_10
    (phone,) = rostered(rt, clock(), n=1)
    run(rt, "invite", clock())
    work()
    tw.sms(phone, "STOP")
    work()
    assert consents(rt) == []
    with rt.db.session() as db:
        assert db.execute(select(Person.opted_out_at).where(Person.phone == phone)).scalar()


def test_the_text_version_changes_with_the_wording(rt, settings, redis_conn, clock, tmp_path):
    from bot import runtime

    clock.current = TUESDAY_10
    rostered(rt, clock(), n=1)
    run(rt, "invite", clock())
    before = rows(rt, campaign="invite")[0].variant
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    po = tmp_path / "locales" / "bn" / "LC_MESSAGES" / "messages.po"
    text = po.read_text("utf-8")
    assert "ক্লাসের একটি" in text  # a word of the teacher's invitation
    po.write_text(text.replace("ক্লাসের একটি", "ক্লাসের জন্য একটি"), "utf-8")
    other = runtime.Runtime(replace(settings, locales_dir=tmp_path / "locales"),
                            redis_conn=redis_conn, clock=clock)
    runtime.install(other)
    try:
        with rt.db.session() as db:
            db.execute(CampaignRun.__table__.delete())
        run(other, "invite", clock())
        assert rows(rt, campaign="invite")[0].variant != before
    finally:
        runtime.install(rt)
        other.close()


def test_the_voice_hook_records_a_headteachers_consent_on_their_first_call(rt, clock):
    """Headteachers on voice are not sent a text invitation; the voice issue's first call
    calls consent.record with channel voice."""
    with rt.db.session() as db:
        head = Person(phone="+8801933000001", name="প্রধান", role="headteacher", language="bn",
                      channel="voice", created_at=clock())
        db.add(head)
        db.flush()
        consent.record(db, head, "voice", clock(), invitations=["invite", "invite_again"])
    (c,) = consents(rt)
    assert (c.channel, c.message_id, c.campaign) == ("voice", None, None)
    with rt.db.session() as db:
        assert db.execute(select(FlowRun.id)).first() is None  # nothing else happened
