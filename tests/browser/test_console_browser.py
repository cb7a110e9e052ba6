"""The console in a real browser: a reflection exchange typed into the phone simulator, and a
content edit saved (and one refused), with screenshots of both pages saved to docs/."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select

from bot.store.models import ContentAudit

from .conftest import DOCS, overflow_on_a_phone

GOLDEN = Path(__file__).parents[1] / "testdata" / "transcripts" / "reflection_not_tried_other.yaml"

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""


def test_a_reflection_exchange_typed_in_the_simulator(page, rt, roster, clock, twilio):
    script = yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))
    clock.current = datetime.fromisoformat(script["clock"])
    page.goto(page.base + "/console/simulator/")
    page.get_by_label("ফোন নম্বর").fill("০১৭১১০০০০০১")  # Bengali digits are a phone number too
    page.get_by_label("ফোন নম্বর").press("Enter")
    page.wait_for_selector("#text")
    assert page.evaluate(UNLABELLED) == []
    for turn in script["turns"]:
        if "at" in turn:
            clock.current = datetime.fromisoformat(turn["at"])
        if "campaign" in turn:
            page.get_by_label("এ সপ্তাহের ক্যাম্পেইন এখনই পাঠান").select_option(turn["campaign"])
            page.locator("form", has=page.locator("#campaign")).get_by_role("button").click()
        else:
            page.locator("#text").fill(turn["send"])
            page.locator("#text").press("Enter")  # the keyboard sends it
        page.wait_for_load_state()
        got = page.locator(".body-new").all_inner_texts()
        assert got == turn["replies"], turn
        assert page.evaluate("document.activeElement.id") == "text"  # ready for the next
    page.screenshot(path=str(DOCS / "console-simulator.png"), full_page=True)
    assert overflow_on_a_phone(page) <= 0  # fits a phone's width: no sideways scrolling
    assert twilio.requests == []


def test_a_content_edit_saved_and_one_refused(page, rt, roster):
    page.goto(page.base + "/console/content/")
    assert page.locator("td", has_text="Counting stones").count() == 1
    page.get_by_label("সম্পাদনা: কাজ ১.১ শিরোনাম বাংলা").click()
    page.locator("#text").fill("পাথর গুনে খেলি")
    page.get_by_role("button", name="সংরক্ষণ করুন").click()
    assert "সংরক্ষণ হয়েছে" in page.get_by_role("status").inner_text()
    assert page.locator("tr#activity-1\\.1-title td").first.inner_text().startswith("পাথর গুনে খেলি")
    assert page.evaluate(UNLABELLED) == []
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(DOCS / "console-content.png"))
    page.get_by_label("সম্পাদনা: কাজ ১.১ শিরোনাম English").click()
    page.locator("#text").fill("")
    page.get_by_role("button", name="সংরক্ষণ করুন").click()
    alert = page.get_by_role("alert").inner_text()
    assert "সংরক্ষণ হয়নি" in alert and "activity 1.1 title has no en text" in alert
    assert overflow_on_a_phone(page) <= 0
    with rt.db.session() as db:
        assert db.execute(select(func.count(ContentAudit.id))).scalar() == 1
    assert rt.content.activity("1.1").title["en"] == "Counting stones"
