"""The programme console through Flask's test client, on the real database: sign-in and its
lockout, CSRF, an officer's area (by URL, search and CSV), the dashboard against the digest's
own figures, the roster preview, and opting a person out as STOP does."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from digest_world import DHAKA, TEACHERS, build
from sqlalchemy import func, select

from bot.contacts.jurisdiction import Area
from bot.digests import area as areas
from bot.digests import figures
from bot.digests.jobs import keep_fresh
from bot.i18n import bengali_digits
from bot.store.models import OBSTACLES, FlowRun, Person, School, Staff
from console import auth

PASSWORD = "correct horse battery"
THURSDAY_5PM = datetime(2026, 12, 3, 17, 0, tzinfo=DHAKA)  # 2026-W49's last school day
WEEK = "2026-W49"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_staff(rt, email, role, **area):
    with rt.db.session() as db:
        return auth.add(db, email, role, PASSWORD, rt.now(), **area).id


class Console:
    """A browser on the console: keeps its cookies, reads each form's CSRF token."""

    def __init__(self, app):
        self.client = app.test_client()
        self.base = "https://sathi.example.org"

    def get(self, path, **kw):
        return self.client.get(path, base_url=self.base, **kw)

    def token(self, path="/console/signin") -> str:
        return TOKEN.search(self.get(path).get_data(as_text=True)).group(1)

    def post(self, path, data, token_from="/console/signin", **kw):
        """As a browser posts a page's form: its token, and the page as the Referer (checked
        on HTTPS)."""
        data = {**data, "csrf_token": self.token(token_from)}
        return self.client.post(path, data=data, base_url=self.base,
                                headers={"Referer": self.base + token_from}, **kw)

    def forge(self, path, data=None):
        """A post from elsewhere: no token of ours (or a made-up one)."""
        return self.client.post(path, data=data or {}, base_url=self.base,
                                headers={"Referer": self.base + "/console/dashboard"})

    def sign_in(self, email, password=PASSWORD):
        return self.post("/console/signin", {"email": email, "password": password})


@pytest.fixture
def console(app):
    return Console(app)


@pytest.fixture
def world(rt, clock):
    clock.current = THURSDAY_5PM
    with rt.db.session() as db:
        return build(db)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def rows(resp) -> list[dict]:
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(text(resp))))


# -- sign-in -----------------------------------------------------------------------------------
def test_a_visitor_is_sent_to_sign_in(rt, console):
    resp = console.get("/console/dashboard")
    assert resp.status_code == 302 and "/console/signin" in resp.headers["Location"]
    page = text(console.get("/console/signin"))
    assert "লগ ইন" in page and 'lang="bn"' in page  # Bangla first
    assert '<label for="email">' in page and '<label for="password">' in page


def test_sign_in_with_the_right_password_and_its_cookie(rt, console):
    add_staff(rt, "Programme@Example.org", "programme")
    resp = console.sign_in("programme@example.org")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/console/dashboard")
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with rt.db.session() as db:
        staff = db.execute(select(Staff)).scalar_one()
        assert staff.password_hash.startswith("scrypt:") and PASSWORD not in staff.password_hash
        assert staff.last_login_at == rt.now()


def test_a_wrong_password_then_the_lockout_in_the_users_language(rt, console, clock):
    add_staff(rt, "officer@example.org", "officer", district="ভোলা", upazila="চরফ্যাশন")
    resp = console.sign_in("officer@example.org", "wrong password")
    assert resp.status_code == 401 and "ইমেইল বা পাসওয়ার্ড মেলেনি" in text(resp)
    assert console.sign_in("nobody@example.org").status_code == 401  # no account: the same
    for _ in range(3):
        assert console.sign_in("officer@example.org", "wrong again").status_code == 401
    resp = console.sign_in("officer@example.org", "the fifth")
    assert resp.status_code == 423 and "১৫ মিনিট পরে" in text(resp)
    # locked: even the right password is refused, and the dashboard stays closed
    resp = console.sign_in("officer@example.org")
    assert resp.status_code == 423
    assert console.get("/console/dashboard").status_code == 302
    clock.advance(minutes=14)
    assert console.sign_in("officer@example.org").status_code == 423
    clock.advance(minutes=2)
    assert console.sign_in("officer@example.org").status_code == 302
    assert console.get("/console/people").status_code == 200


def test_the_lockout_message_follows_the_language_switch(rt, console):
    add_staff(rt, "officer@example.org", "officer", district="ভোলা")
    console.post("/console/language", {"lang": "en", "next": "/console/signin"})
    page = text(console.get("/console/signin"))
    assert 'lang="en"' in page and "Sign in" in page
    for _ in range(4):
        console.sign_in("officer@example.org", "wrong")
    resp = console.sign_in("officer@example.org", "wrong")
    assert resp.status_code == 423 and "Try again in 15 minutes" in text(resp)


def test_sign_out(rt, console):
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")
    assert console.get("/console/people").status_code == 200
    resp = console.post("/console/signout", {}, token_from="/console/people")
    assert resp.status_code == 302
    assert console.get("/console/people").status_code == 302


def test_staff_add_on_the_command_line(rt):
    from click.testing import CliRunner

    from bot.cli import main

    runner = CliRunner()
    out = runner.invoke(main, ["staff", "add", "uo@example.org", "--role", "officer",
                               "--district", "ভোলা", "--upazila", "চরফ্যাশন",
                               "--password-stdin"], input=PASSWORD + "\n")
    assert out.exit_code == 0, out.output
    assert "চরফ্যাশন, ভোলা" in out.output
    out = runner.invoke(main, ["staff", "add", "x@example.org", "--role", "officer",
                               "--password-stdin"], input=PASSWORD + "\n")
    assert out.exit_code == 1 and "an officer needs --district, or --upazila" in out.output
    out = runner.invoke(main, ["staff", "add", "y@example.org", "--role", "admin"],
                        input="short\nshort\n")
    assert out.exit_code == 1 and "at least 10 characters" in out.output
    with rt.db.session() as db:
        assert db.execute(select(func.count(Staff.id))).scalar() == 1


def test_an_upazila_named_alone_finds_its_district_unless_the_name_repeats(rt, world):
    with rt.db.session() as db:
        staff = auth.add(db, "uo@example.org", "officer", PASSWORD, rt.now(), upazila="চরফ্যাশন")
        assert (staff.district, staff.upazila) == ("ভোলা", "চরফ্যাশন")
        with pytest.raises(ValueError, match="is in 2 districts"):
            auth.add(db, "sadar@example.org", "officer", PASSWORD, rt.now(), upazila="সদর")


# -- CSRF --------------------------------------------------------------------------------------
def test_a_form_posted_without_its_token_is_refused(rt, console, roster):
    add_staff(rt, "programme@example.org", "programme")
    resp = console.forge("/console/signin", {"email": "programme@example.org",
                                             "password": PASSWORD})
    assert resp.status_code == 400
    console.sign_in("programme@example.org")
    with rt.db.session() as db:
        pid = db.execute(select(Person.id).where(Person.phone == "+8801711000001")).scalar()
    refused = console.forge(f"/console/people/{pid}/opt-out")
    assert refused.status_code == 400 and "পাতাটি আবার খুলে" in text(refused)
    assert console.forge(f"/console/people/{pid}/opt-out",
                         {"csrf_token": "forged"}).status_code == 400
    with rt.db.session() as db:
        assert db.get(Person, pid).opted_out_at is None


# -- an officer's area -------------------------------------------------------------------------
def test_an_upazila_officer_sees_only_their_upazila(rt, console, world):
    add_staff(rt, "uo@example.org", "officer", district="ভোলা", upazila="চরফ্যাশন")
    console.sign_in("uo@example.org")
    mine = world.people["রহিমা বেগম"]  # চরফ্যাশন, ভোলা
    for other in ("রুমানা ইসলাম", "সুচিত্রা চাকমা", "মিজানুর রহমান"):  # সদর ভোলা, সদর
        pid = world.people[other]  # রাঙ্গামাটি, লালমোহন: by URL, not found
        assert console.get(f"/console/people/{pid}").status_code == 404, other
        phone = TEACHERS[other][0]
        for q in (phone, "0" + phone[4:], phone[-6:]):
            assert other not in text(console.get("/console/people", query_string={"q": q}))
            assert rows(console.get("/console/people.csv", query_string={"q": q})) == []
    page = console.get(f"/console/people/{mine}")
    assert page.status_code == 200 and "রহিমা বেগম" in text(page)
    # by school: only the officer's own schools' people
    found = rows(console.get("/console/people.csv", query_string={"q": "সরকারি প্রাথমিক"}))
    assert found and {r["upazila"] for r in found} == {"চরফ্যাশন"}
    assert "সুচিত্রা চাকমা" not in {r["name"] for r in found}
    # the dashboard of another upazila or district is refused
    for query in ({"district": "রাঙ্গামাটি"}, {"upazila": "সদর"},
                  {"district": "রাঙ্গামাটি", "upazila": "সদর"}):
        assert console.get("/console/dashboard", query_string=query).status_code == 403
        assert console.get("/console/dashboard.csv", query_string=query).status_code == 403
    refused = console.get("/console/dashboard", query_string={"district": "রাঙ্গামাটি"})
    assert "এই পাতাটি আপনার এলাকা বা দায়িত্বের বাইরে" in text(refused)  # in their language
    assert console.get("/console/dashboard").status_code == 200
    # the roster is the programme office's
    assert console.get("/console/roster").status_code == 403


def test_search_reads_a_phone_in_either_script_and_any_format(rt, console, world):
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")
    for q in ("+8801911000011", "01911-000011", "০১৯১১০০০০১১", "+৮৮০ ১৯১১ ০০০০১১",
              "8801911000011", "000011"):
        found = rows(console.get("/console/people.csv", query_string={"q": q}))
        assert [r["name"] for r in found] == ["সুচিত্রা চাকমা"], q


# -- the dashboard and the digest --------------------------------------------------------------
@pytest.mark.parametrize("district,upazila", [("ভোলা", "চরফ্যাশন"), ("ভোলা", None),
                                              ("রাঙ্গামাটি", "সদর")])
def test_the_dashboard_shows_the_digests_figures(rt, console, world, district, upazila):
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")
    query = {"district": district, "week": WEEK, **({"upazila": upazila} if upazila else {})}
    with rt.db.session() as db:
        fig = areas.weekly(db, rt.calendar, Area(district=district, upazila=upazila), WEEK,
                           rt.now(), figures.reflection_campaigns(rt.campaigns))
    weeks = rows(console.get("/console/dashboard.csv", query_string={**query, "table": "weeks"}))
    assert len(weeks) == 12 and weeks[-1]["week"] == WEEK and weeks[0]["week"] == "2026-W38"
    this = weeks[-1]
    assert (int(this["teachers"]), int(this["active"]), int(this["asked"]),
            int(this["answered"]), int(this["tried"]), int(this["meetings"]),
            int(this["opted_out"])) == (fig.teachers, fig.active, fig.asked, fig.answered,
                                        fig.tried, fig.meetings, fig.opted_out)
    # and the same again counted live, school by school (figures.school_week: no rollup)
    with rt.db.session() as db:
        ids = db.execute(select(School.id).where(
            School.district == district, *((School.upazila == upazila,) if upazila else ())
        )).scalars().all()
        live = [figures.school_week(db, sid, WEEK, rt.calendar) for sid in ids]
    assert (int(this["teachers"]), int(this["active"]), int(this["asked"]),
            int(this["answered"]), int(this["tried"])) == (
        sum(w.teachers for w in live), sum(w.active for w in live), sum(w.asked for w in live),
        sum(w.answered for w in live), sum(len(w.tried) for w in live))
    assert int(this["checkins"]) == sum(w.meeting is not None for w in live)
    assert int(this["meetings"]) == sum(bool(w.meeting) for w in live)
    obstacles = rows(console.get("/console/dashboard.csv",
                                 query_string={**query, "table": "obstacles"}))
    assert {r["obstacle"]: int(r["teachers"]) for r in obstacles} == {
        code: fig.obstacles.get(code, 0) for code in OBSTACLES}
    levels = rows(console.get("/console/dashboard.csv", query_string={**query, "table": "levels"}))
    assert {int(r["level"]): int(r["learners_this_month"]) for r in levels if
            int(r["learners_this_month"])} == dict(+fig.levels)
    assert {int(r["level"]): int(r["learners_last_month"]) for r in levels if
            int(r["learners_last_month"])} == dict(+fig.last_levels)
    page = text(console.get("/console/dashboard", query_string=query))
    assert "<svg" in page and "cdn" not in page.lower()
    assert f'<span class="value">{bengali_digits(str(fig.active))}</span>' in page


def test_the_dashboard_counts_nudges_check_ins_and_sms_cost(rt, console, world):
    """Figures the digest does not show: counted from the same rollup, checked by hand."""
    from bot.store.models import CampaignRun, Message

    with rt.db.session() as db:
        rahima = db.get(Person, world.people["রহিমা বেগম"])
        db.add(CampaignRun(campaign="nudge", week=WEEK, person_id=rahima.id, status="sent",
                           planned_at=rt.now(), done_at=rt.now()))
        for body, status in (("ক" * 100, "delivered"), ("ক" * 10, "sent"), ("x", "failed")):
            db.add(Message(direction="out", channel="sms", person_id=rahima.id,
                           address=rahima.phone, body=body, segments=2 if len(body) > 70 else 1,
                           status=status, created_at=rt.now() - timedelta(days=1),
                           updated_at=rt.now()))
    keep_fresh()  # the cron job works the figures out; a page only reads them
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")
    weeks = rows(console.get("/console/dashboard.csv", query_string={
        "district": "ভোলা", "upazila": "চরফ্যাশন", "week": WEEK, "table": "weeks"}))
    this = weeks[-1]
    assert int(this["nudged"]) == 1
    assert int(this["checkins"]) == 1  # 91010101's; 91010104 reported in W48 only
    assert int(this["sms_segments_bangla"]) == 3 and int(this["sms_segments_latin"]) == 0
    assert this["sms_cost_taka"] == "0.75"  # 3 segments at Tk 0.25
    assert float(this["sms_cost_per_active_teacher_taka"]) == round(0.75 / int(this["active"]), 2)


def test_a_page_only_reads_the_figures_the_cron_job_keeps_fresh(rt, console, world, clock):
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")
    query = {"district": "ভোলা", "upazila": "চরফ্যাশন", "week": WEEK}
    assert "এই সপ্তাহের হিসাব এখনো হয়নি" in text(console.get("/console/dashboard",
                                                               query_string=query))
    assert keep_fresh() == 12 and keep_fresh() == 0  # the 12 weeks shown, once each

    def this_week():
        return rows(console.get("/console/dashboard.csv",
                                query_string={**query, "table": "weeks"}))[-1]

    before = this_week()
    assert "হিসাবের সময়: ২০২৬-১২-০৩ ১৭:০০।" in text(console.get("/console/dashboard",
                                                                       query_string=query))
    with rt.db.session() as db:
        db.get(Person, world.people["রহিমা বেগম"]).opted_out_at = rt.now()
    assert this_week() == before  # the request worked nothing out
    clock.advance(minutes=11)
    assert keep_fresh() == 1  # this week only: the older ones were final
    after = this_week()
    assert int(after["opted_out"]) == int(before["opted_out"]) + 1
    assert int(after["teachers"]) == int(before["teachers"]) - 1


# -- people ------------------------------------------------------------------------------------
def test_a_persons_history_and_opting_out_from_the_console_stops_sends(rt, console, roster,
                                                                      tw, work, twilio):
    teacher = "+8801711000001"
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")
    tw.sms(teacher, "hi")
    work()
    assert len(twilio.messages()) == 2  # welcome + the language question: a flow waits
    with rt.db.session() as db:
        pid = db.execute(select(Person.id).where(Person.phone == teacher)).scalar()
    page = text(console.get(f"/console/people/{pid}"))
    assert "hi" in page and "onboarding" in page and "এসেছে" in page and "পাঠানো হয়েছে" in page
    resp = console.post(f"/console/people/{pid}/opt-out", {},
                        token_from=f"/console/people/{pid}")
    assert resp.status_code == 302
    work()
    sent = [m["Body"] for m in twilio.messages()]
    assert len(sent) == 3 and "চালু" in sent[2]  # STOP's own confirmation
    with rt.db.session() as db:
        assert db.get(Person, pid).opted_out_at is not None
        assert db.execute(select(FlowRun.status)).scalar_one() == "interrupted"
    for body in ("1", "hello"):
        tw.sms(teacher, body)
    work()
    assert len(twilio.messages()) == 3  # nothing more is sent
    console.post(f"/console/people/{pid}/opt-in", {}, token_from=f"/console/people/{pid}")
    with rt.db.session() as db:
        assert db.get(Person, pid).opted_out_at is None


ROSTER = """phone,name,role,school_emis,school_name,upazila,district,language,channel
01811000001,নতুন শিক্ষক,teacher,93010101,নতুন স্কুল,সদর,ফেনী,bn,sms
12345,ভুল নম্বর,teacher,93010101,নতুন স্কুল,সদর,ফেনী,bn,sms
01811000003,কর্মকর্তা,officer,,,,,bn,sms
"""


def test_a_roster_is_previewed_with_every_bad_row_and_saved_only_when_confirmed(rt, console):
    add_staff(rt, "programme@example.org", "programme")
    console.sign_in("programme@example.org")

    def upload():
        return console.post("/console/roster", {
            "roster": (io.BytesIO(ROSTER.encode("utf-8")), "roster.csv")},
            token_from="/console/roster", content_type="multipart/form-data")

    resp = upload()
    page = text(resp)
    assert resp.status_code == 200
    assert "ফোন নম্বরটি ঠিক নয়: 12345".replace("12345", "১২৩৪৫") in page  # line 3, in Bangla
    assert "কর্মকর্তার জেলা লাগবে" in page  # line 4
    assert "ঠিক থাকা ১টি সারি সংরক্ষণ করুন" in page
    with rt.db.session() as db:  # nothing saved yet
        assert db.execute(select(func.count(Person.id))).scalar() == 0
        assert db.execute(select(func.count(School.id))).scalar() == 0
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    resp = console.post("/console/roster/confirm", {"token": token}, token_from="/console/roster")
    assert resp.status_code == 200 and "রোস্টার সংরক্ষণ হয়েছে" in text(resp)
    with rt.db.session() as db:
        assert db.execute(select(Person.name)).scalars().all() == ["নতুন শিক্ষক"]
    # a token is used once
    resp = console.post("/console/roster/confirm", {"token": token}, token_from="/console/roster")
    assert resp.status_code == 410
