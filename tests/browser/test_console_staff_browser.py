"""The console as its staff use it, in a real browser: signing in and reading the dashboard, a
roster with a bad row previewed and then confirmed, an upazila officer kept to their upazila (by
URL and by search), and forms posted without their CSRF token refused. Screenshots of the
dashboard (desktop and phone) and of the roster preview are saved to docs/."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from console_pages import add_staff
from sqlalchemy import func, select

from bot.contacts.jurisdiction import Area
from bot.digests import area as areas
from bot.digests import figures
from bot.digests.jobs import keep_fresh
from bot.i18n import bengali_digits
from bot.store.models import Person, School

from .conftest import DOCS, overflow_on_a_phone, sign_in

THURSDAY_5PM = datetime(2026, 12, 3, 17, 0, tzinfo=timezone(timedelta(hours=6)))  # W49's last
WEEK = "2026-W49"


@pytest.fixture
def world(rt, clock):
    """The digests' world (tests/digest_world.py): schools and teachers in three upazilas of
    two districts, with four weeks of reflections, on Thursday of 2026-W49 at 5 pm."""
    from digest_world import build

    clock.current = THURSDAY_5PM
    with rt.db.session() as db:
        return build(db)


def card(page, label: str) -> str:
    """The figure of the dashboard card labelled `label` (the whole label)."""
    return page.locator(".card", has=page.get_by_text(label, exact=True)) \
        .locator(".value").inner_text()


def test_sign_in_and_read_an_upazilas_week_on_the_dashboard(visitor, rt, world):
    page = visitor
    keep_fresh()  # the cron job's work: the page only reads the weekly rollup
    add_staff(rt, "admin@sathi.example.org", "admin")
    page.goto(page.base + "/console/dashboard")
    assert "/console/signin" in page.url  # not signed in: sent to sign in first
    sign_in(page, page.base, "admin@sathi.example.org")
    assert page.url.endswith("/console/dashboard")
    assert "সারা দেশ" in page.locator("h1").inner_text()
    page.locator("#upazilas").scroll_into_view_if_needed()
    page.get_by_role("link", name="চরফ্যাশন", exact=True).click()  # the upazilas table
    page.wait_for_load_state()
    assert "চরফ্যাশন, ভোলা" in page.locator("h1").inner_text()
    with rt.db.session() as db:  # what the digest says of the same upazila and week
        fig = areas.weekly(db, rt.calendar, Area(district="ভোলা", upazila="চরফ্যাশন"), WEEK,
                           rt.now(), figures.reflection_campaigns(rt.campaigns))
    active = f"সক্রিয় শিক্ষক ({bengali_digits(str(fig.teachers))} জনের মধ্যে)"
    assert card(page, active) == bengali_digits(str(fig.active)) == "৮"  # all 8 of its 8
    assert page.locator("svg").count() >= 3  # the 12 weeks' charts, drawn on the server
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(DOCS / "console-dashboard.png"), full_page=True)
    assert overflow_on_a_phone(page) <= 0  # fits a phone's width: no sideways scrolling
    page.screenshot(path=str(DOCS / "console-dashboard-phone.png"), full_page=True)


ROSTER = """phone,name,role,school_emis,school_name,upazila,district,language,channel
01811000001,নতুন শিক্ষক,teacher,93010101,ফেনী সদর সরকারি প্রাথমিক বিদ্যালয়,সদর,ফেনী,bn,sms
12345,ভুল নম্বর,teacher,93010101,ফেনী সদর সরকারি প্রাথমিক বিদ্যালয়,সদর,ফেনী,bn,sms
০১৮১১০০০০০৩,আরেক শিক্ষক,teacher,93010101,ফেনী সদর সরকারি প্রাথমিক বিদ্যালয়,সদর,ফেনী,bn,sms
"""


def people(rt) -> list[str]:
    with rt.db.session() as db:
        return sorted(db.execute(select(Person.name)).scalars())


def test_a_roster_with_a_bad_row_previewed_then_confirmed(page, rt):
    page.goto(page.base + "/console/dashboard")
    page.get_by_role("link", name="রোস্টার", exact=True).click()
    page.get_by_label("রোস্টারের CSV ফাইল").set_input_files(files=[{
        "name": "ফেনী.csv", "mimeType": "text/csv", "buffer": ROSTER.encode("utf-8")}])
    page.get_by_role("button", name="যাচাই করুন").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == (
        "সংরক্ষণ করলে: ২ জন নতুন যোগ হবেন, ০ জনের তথ্য হালনাগাদ হবে, ০ জন আগের মতো থাকবেন, "
        "১টি সারি বাদ যাবে।")
    assert "এখনো কিছুই সংরক্ষণ হয়নি।" in page.content()
    bad = page.locator("table tbody tr")
    assert bad.count() == 1
    assert [c.strip() for c in bad.first.locator("td").all_inner_texts()] == [
        "৩", "ভুল নম্বর 12345", "ফোন নম্বরটি ঠিক নয়: ১২৩৪৫"]
    assert people(rt) == []  # nothing saved before the confirmation
    with rt.db.session() as db:
        assert db.execute(select(func.count(School.id))).scalar() == 0
    page.screenshot(path=str(DOCS / "console-roster.png"), full_page=True)
    page.get_by_role("button", name="ঠিক থাকা ২টি সারি সংরক্ষণ করুন").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == (
        "রোস্টার সংরক্ষণ হয়েছে: ২ জন নতুন যোগ হয়েছেন, ০ জনের তথ্য হালনাগাদ হয়েছে, "
        "০ জন আগের মতো, ১টি সারি বাদ।")
    assert people(rt) == ["আরেক শিক্ষক", "নতুন শিক্ষক"]
    # and the people page finds them, by the number as the roster wrote it
    page.get_by_role("link", name="ব্যবহারকারী", exact=True).click()
    page.locator("#q").fill("01811-000003")
    page.locator("#q").press("Enter")
    page.wait_for_load_state()
    assert page.locator("tbody th").all_inner_texts() == ["আরেক শিক্ষক"]
    assert overflow_on_a_phone(page) <= 0


def test_an_upazila_officer_cannot_open_another_upazilas_teacher(visitor, rt, world):
    page = visitor
    add_staff(rt, "uo@sathi.example.org", "officer", district="ভোলা", upazila="চরফ্যাশন")
    sign_in(page, page.base, "uo@sathi.example.org")
    assert page.url.endswith("/console/dashboard")
    assert page.get_by_role("link", name="রোস্টার", exact=True).count() == 0  # not theirs
    for other in ("রুমানা ইসলাম", "সুচিত্রা চাকমা"):  # সদর, ভোলা; সদর, রাঙ্গামাটি
        resp = page.goto(page.base + f"/console/people/{world.people[other]}")  # by URL
        assert resp.status == 404
        assert page.locator("h1").inner_text() == "পাওয়া যায়নি।"  # the console's error page
        assert other not in page.content()
        page.goto(page.base + "/console/people")  # and by search, their number in Bangla
        page.get_by_label("ফোন নম্বর, স্কুল বা নাম").fill(bengali_digits(world.phones[other]))
        page.get_by_role("button", name="খুঁজুন").click()
        page.wait_for_load_state()
        assert page.locator("h2").inner_text() == "০ জন পাওয়া গেছে"
        assert other not in page.content()
    # their own upazila's teacher is found, and opens
    page.get_by_label("ফোন নম্বর, স্কুল বা নাম").fill(world.phones["রহিমা বেগম"])
    page.get_by_role("button", name="খুঁজুন").click()
    page.wait_for_load_state()
    assert page.locator("h2").inner_text() == "১ জন পাওয়া গেছে"
    page.get_by_role("link", name="রহিমা বেগম").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/people/{world.people['রহিমা বেগম']}")
    assert "রহিমা বেগম" in page.locator("h1").inner_text()
    # another district's dashboard, asked for in the address, is refused in their language
    resp = page.goto(page.base + "/console/dashboard?district=রাঙ্গামাটি")
    assert resp.status == 403
    assert page.locator("h1").inner_text() == "এই পাতাটি আপনার এলাকা বা দায়িত্বের বাইরে।"


def test_a_form_posted_without_its_token_is_refused(page, rt, roster):
    with rt.db.session() as db:
        pid = db.execute(select(Person.id).where(Person.phone == "+8801711000001")).scalar_one()
    page.goto(page.base + f"/console/people/{pid}")
    # the browser's own cookies (signed in), but no csrf_token in the form
    for form in ({}, {"csrf_token": "forged"}):
        refused = page.request.post(page.base + f"/console/people/{pid}/opt-out", form=form,
                                    max_redirects=0)
        assert refused.status == 400, form
        assert "পাতাটি আবার খুলে চেষ্টা করুন" in refused.text()
    with rt.db.session() as db:
        assert db.get(Person, pid).opted_out_at is None  # nothing changed
    refused = page.request.post(page.base + "/console/signout", form={}, max_redirects=0)
    assert refused.status == 400
    page.goto(page.base + "/console/people")
    assert page.url.endswith("/console/people")  # still signed in
    # the page's own form, token and all, does sign out
    page.get_by_role("button", name="লগ আউট").click()
    page.wait_for_load_state()
    assert "/console/signin" in page.url
    page.goto(page.base + "/console/people")
    assert "/console/signin" in page.url
