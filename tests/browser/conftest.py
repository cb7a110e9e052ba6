"""Browser tests: the real app served on a free port by werkzeug's server in a thread, against
the suite's test database, Redis, frozen clock and Twilio double (the `rt` fixture), driven by
Playwright for Python in Debian's headless Chromium (/usr/bin/chromium; scripts/browser-install).
Playwright's own browser downloads are never used.

Every test here is marked `browser`. Without /usr/bin/chromium they skip, except under CI
(CI=true), where a missing browser is a failure.

Signing in: when the app has the console core's sign-in page (/console/signin), `page` signs in
there as an admin made by the core's `auth.add` (tests/console_pages.py); otherwise the
console's blueprints are mounted on the service's own app with no sign-in (`console_app`).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from console_pages import STAFF_PASSWORD, add_staff, console_app, sign_in_path
from werkzeug.serving import make_server

from bot.config import ROOT

CHROMIUM = Path("/usr/bin/chromium")
DOCS = ROOT / "docs"  # the screenshots each run saves, for the README
PHONE = {"width": 390, "height": 844}  # a phone-sized screen (CSS pixels)
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
DESKTOP = {"width": 1280, "height": 900}
STAFF = ("admin@sathi.example.org",)
TIMEOUT = 60_000  # ms a page may take: a turn runs the worker's jobs in the request


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def server(rt):
    """The app on 127.0.0.1:<free port>, in a thread; its base URL."""
    from bot.nlu import embedded

    embedded.load()  # trained once per process (seconds on a loaded machine), not in a page's wait
    app = console_app(rt)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    base_app = app
    yield base, base_app, rt
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/browser-install installs it")
        pytest.skip(f"{CHROMIUM} is missing (scripts/browser-install, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def sign_in(page, base: str, email: str, password: str = STAFF_PASSWORD) -> None:
    """Through the console core's sign-in page, as a person types it: the email, the password,
    Enter."""
    page.goto(base + "/console/signin")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_load_state()


def _sign_in(page, base: str, app, rt) -> None:
    """Through the console core's sign-in page, when the app has one, as an admin."""
    if sign_in_path(app) is None:
        return
    add_staff(rt, STAFF[0], "admin")
    sign_in(page, base, STAFF[0])


def _new_page(browser, base: str):
    context = browser.new_context(viewport=DESKTOP, locale="bn-BD")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.base = base
    return context, page


@pytest.fixture
def page(browser, server):
    """A fresh page (desktop size), signed in when the console has sign-in; `page.base` is the
    server's URL."""
    base, app, rt = server
    context, page = _new_page(browser, base)
    _sign_in(page, base, app, rt)
    yield page
    context.close()


@pytest.fixture
def visitor(browser, server):
    """A fresh page (desktop size) of a browser that has not signed in; `page.base` is the
    server's URL. Skips when the console has no sign-in page."""
    base, app, rt = server
    if sign_in_path(app) is None:
        pytest.skip("the console core (sign-in) is not there")
    context, page = _new_page(browser, base)
    yield page
    context.close()


def overflow_on_a_phone(page) -> int:
    """CSS pixels the page is wider than a phone's screen (> 0: it scrolls sideways), once it
    is laid out at that width. The resize returns before the page has been laid out again, and
    on a busy machine the first look could still measure the wider layout: the look is repeated
    until the page fits or 5 s have passed, and the last one is the answer."""
    from playwright.sync_api import TimeoutError as NotInTime

    page.set_viewport_size(PHONE)
    try:
        page.wait_for_function(f"() => ({OVERFLOW})() <= 0", timeout=5_000)
    except NotInTime:  # it does not fit, and the answer says by how much
        pass
    return page.evaluate(OVERFLOW)
