"""The console's content page: the texts side by side in bn, en and bn-Latn with their SMS
segments; an edit is linted as `sathi content lint` lints, takes effect for the next sends
without a deploy (every process), and is audited; a refused edit changes nothing."""
from __future__ import annotations

import pytest
from console_pages import Client, Page, console_app
from sqlalchemy import func, select

from bot import runtime
from bot.campaigns import fanout as campaign
from bot.store.models import ContentAudit, ContentEdit

RAHIMA = "+8801711000001"
EDIT = "/console/content/edit"


def _client(rt, role="programme", email="programme@sathi.example.org", **area):
    return Client(console_app(rt), rt, role=role, email=email, **area)


@pytest.fixture
def console(rt):
    return _client(rt)


def _nudge(rt, tw, work, twilio, clock):
    """Onboard Rahima and send her this week's nudge through the real path; its text."""
    for text in ("hi", "1", "1"):
        tw.sms(RAHIMA, text)
        work()
    campaign.plan(rt, "nudge", rt.calendar.week_of(clock()), clock(), immediately=True)
    campaign.dispatch(rt, clock(), force=True)
    work()
    return twilio.messages()[-1]["Body"]


def _counts(rt):
    with rt.db.session() as db:
        return (db.execute(select(func.count(ContentAudit.id))).scalar(),
                db.execute(select(func.count(ContentEdit.id))).scalar())


def test_the_texts_are_side_by_side_with_their_segments(rt, console):
    html = console.get("/console/content/").get_data(as_text=True)
    row = Page(html)
    assert {"পাথর গুনি", "Counting stones", "Pathor guni"} <= set(row.texts("text"))
    segments = row.texts("seg")
    assert "১ সেগমেন্ট, ৯ একক (UCS-2)" in segments  # পাথর গুনি: 9 UTF-16 units
    assert "১ সেগমেন্ট, ১৫ একক (GSM-7)" in segments  # Counting stones
    tips = Page(console.get("/console/content/?section=tips").get_data(as_text=True))
    assert any(t.startswith("Keep 15 minutes of every staff meeting") for t in tips.texts("text"))
    flows = Page(console.get("/console/content/?section=messages").get_data(as_text=True))
    assert "ধন্যবাদ! শিশুরা কী শিখল? এক লাইনে লিখুন।" in flows.texts("text")
    assert not any(t.startswith("console.") for t in flows.texts("text"))


def test_a_good_edit_takes_effect_for_the_next_send_and_is_audited(
        rt, roster, console, tw, work, twilio, clock, settings, redis_conn):
    form = {"kind": "activity", "item": "1.1", "field": "title", "language": "bn",
            "text": "পাথর গুনে খেলি"}
    r = console.post(EDIT, data=form)
    assert r.status_code == 302
    page = console.get(r.headers["Location"]).get_data(as_text=True)
    assert "পাথর গুনে খেলি" in Page(page).texts("text")
    assert Page(page).texts("edited") == ["কনসোলে সম্পাদিত"]  # that one cell, marked
    assert _nudge(rt, tw, work, twilio, clock).startswith("এ সপ্তাহের কাজ: পাথর গুনে খেলি (মডিউল ১)")
    with rt.db.session() as db:
        audit = db.execute(select(ContentAudit)).scalar_one()
    assert (audit.who, audit.kind, audit.item, audit.field, audit.language, audit.before,
            audit.after, audit.at) == ("programme@sathi.example.org", "activity", "1.1", "title",
                                      "bn", "পাথর গুনি", "পাথর গুনে খেলি", clock())
    assert "programme@sathi.example.org" in page  # the change is listed on the page
    # another process (a worker, another web host) lays the same edit over the files
    other = runtime.Runtime(settings, redis_conn=redis_conn, clock=clock)
    try:
        assert other.content.activity("1.1").title["bn"] == "পাথর গুনে খেলি"
        assert other.base_content.activity("1.1").title["bn"] == "পাথর গুনি"  # files unchanged
    finally:
        other.close()


def test_a_flow_text_edit_is_said_from_the_next_reply(rt, roster, tw, work, twilio, clock):
    console = _client(rt, email="second@sathi.example.org")
    r = console.post(EDIT, data={"kind": "message", "item": "onboarding.ask_channel", "field": "",
                                 "language": "bn",
                                 "text": "বার্তা কোথায় চান? SMS হলে ১, WhatsApp হলে ২ লিখুন।"})
    assert r.status_code == 302, r.get_data(as_text=True)
    for text in ("hi", "1"):
        tw.sms(RAHIMA, text)
        work()
    assert twilio.messages()[-1]["Body"] == "বার্তা কোথায় চান? SMS হলে ১, WhatsApp হলে ২ লিখুন।"
    with rt.db.session() as db:
        assert db.execute(select(ContentAudit.who)).scalar_one() == "second@sathi.example.org"


@pytest.mark.parametrize("form, reason", [
    ({"kind": "activity", "item": "1.1", "field": "description", "language": "bn",
      "text": "দুজনের খেলা: একজন সংখ্যা বলে, অন্যজন ছুঁয়ে ছুঁয়ে ততগুলো পাথর গোনে। " * 2},
     "weekly.nudge with activity 1.1 in bn needs 3 SMS segments"),
    ({"kind": "activity", "item": "1.1", "field": "title", "language": "en", "text": ""},
     "activity 1.1 title has no en text"),
    ({"kind": "tip", "item": "staff_meeting.1", "field": "text", "language": "bn",
      "text": "প্রতি স্টাফ মিটিংয়ে 15 মিনিট রাখুন।"},
     "tip staff_meeting.1 (bn) has ASCII digits"),
    ({"kind": "message", "item": "weekly.nudge", "field": "", "language": "en",
      "text": "This week: {titel}. Which class and day?"},
     "weekly.nudge (en) must name exactly {description}, {module}, {title}"),
    # pasted with the text: a NUL (PostgreSQL refused it with a 500), a bell, a byte order mark
    ({"kind": "activity", "item": "1.1", "field": "title", "language": "bn",
      "text": "পাথর\x00গুনি"}, "activity 1.1 title (bn) has U+0000, a character an SMS cannot"),
    ({"kind": "activity", "item": "1.1", "field": "title", "language": "en",
      "text": "Counting\x07stones"}, "activity 1.1 title (en) has U+0007"),
    ({"kind": "message", "item": "weekly.nudge", "field": "", "language": "bn",
      "text": "\ufeffএ সপ্তাহের কাজ: {title} (মডিউল {module})। {description}"},
     "weekly.nudge (bn) has U+FEFF"),
])
def test_an_edit_the_lint_refuses_changes_nothing(rt, roster, console, tw, work, twilio, clock,
                                                  form, reason):
    r = console.post(EDIT, data=form)
    assert r.status_code == 422
    problems = Page(r.get_data(as_text=True)).texts("problem")
    assert reason in problems[0]
    assert "সংরক্ষণ হয়নি" in problems[0]
    assert _counts(rt) == (0, 0)
    assert rt.content.activity("1.1").title == {"bn": "পাথর গুনি", "en": "Counting stones",
                                                "bn-Latn": "Pathor guni"}
    assert _nudge(rt, tw, work, twilio, clock).startswith("এ সপ্তাহের কাজ: পাথর গুনি (মডিউল ১)")


def test_an_officer_may_read_but_not_edit(rt):
    client = _client(rt, role="officer", email="uno@example.org", district="ভোলা",
                     upazila="চরফ্যাশন")
    html = client.get("/console/content/").get_data(as_text=True)
    assert "পাথর গুনি" in html and f'href="{EDIT}' not in html
    r = client.post(EDIT, data={"kind": "activity", "item": "1.1", "field": "title",
                                "language": "bn", "text": "x"})
    assert r.status_code == 403
    assert _counts(rt) == (0, 0)


@pytest.mark.parametrize("lang, title", [("bn", "কনটেন্ট"), ("en", "Content"),
                                         ("bn-Latn", "Content")])
def test_the_pages_speak_the_staffs_language(rt, roster, console, lang, title):
    html = console.get("/console/content/", query_string={"lang": lang}).get_data(as_text=True)
    assert f"<title>{title}" in html  # the console core's base adds " · শিক্ষক সাথী"
    edit = console.get(EDIT, query_string={"kind": "tip", "item": "staff_meeting.1",
                                            "field": "text", "language": "en"})
    assert edit.status_code == 200
    sim = console.post(f"/console/simulator/?lang={lang}", data={"phone": "01711000003"})
    assert sim.status_code == 200
    assert ("কল ধরুন" in sim.get_data(as_text=True)) == (lang == "bn")


def test_every_form_carries_the_csrf_token_when_the_console_protects_them(rt, roster):
    """The console core's CSRFProtect (Flask-WTF) gives templates csrf_token(): every form that
    posts carries it as the field csrf_token."""
    import re

    client = _client(rt)
    if "csrf_token" not in client.app.jinja_env.globals:  # no console core: as CSRFProtect does
        client.app.jinja_env.globals["csrf_token"] = lambda: "token-from-csrfprotect"
    client.post("/console/simulator/send", data={"phone": "01711000003", "text": "hi"})
    pages = [client.post("/console/simulator/", data={"phone": "01711000003"}
                         ).get_data(as_text=True),
             client.post("/console/simulator/call", data={"phone": "01711000003",
                                                          "kind": "callback"}
                         ).get_data(as_text=True),
             client.get(EDIT, query_string={"kind": "tip", "item": "staff_meeting.1",
                                            "field": "text", "language": "bn"}
                        ).get_data(as_text=True)]
    for html in pages:
        forms = re.findall(r'<form method="post" action="/console/(?:simulator|content).*?</form>',
                           html, re.S)
        assert forms
        for form in forms:
            assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+">', form)
