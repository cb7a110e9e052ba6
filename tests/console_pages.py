"""The console's pages as a test reads them (what a person sees), and the console app for
tests: c18a's console core when it is there, or the blueprints on the service's own app."""
from __future__ import annotations

import re
from html.parser import HTMLParser

SECRET = "console-test-secret-not-a-secret"
SIGN_IN = ("/console/signin", "/console/login")  # the console core's sign-in page
STAFF_PASSWORD = "console-test-password-not-a-secret"
BASE = "https://sathi.example.org"  # the test client's origin: Secure cookies are sent


def console_app(rt, **config):
    """The service's app with the console's blueprints, mounted as the console core mounts them
    (console.register: one "console" blueprint at /console with these nested in it), for the
    test client or a real server. Without the core, nothing signs in: a test sets `g.staff`
    itself when it needs an account."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": SECRET, "CONSOLE_PLAIN_HTTP": True,
                      **config}, rt=rt)
    import console

    if "console" not in app.blueprints:
        if hasattr(console, "register"):  # the console core: sign-in, CSRF, every page
            console.register(app)
        else:
            from flask import Blueprint

            from console import content, simulator

            parent = Blueprint("console", __name__, url_prefix="/console")
            parent.register_blueprint(simulator.bp, url_prefix="/simulator")
            parent.register_blueprint(content.bp, url_prefix="/content")
            app.register_blueprint(parent)
    return app


def sign_in_path(app) -> str | None:
    """The console core's sign-in page, when the app has one."""
    rules = {r.rule for r in app.url_map.iter_rules()}
    return next((p for p in SIGN_IN if p in rules), None)


def add_staff(rt, email: str, role: str, **area) -> None:
    """A console account (the console core's `auth.add`, as `sathi staff add` makes one)."""
    from console import auth

    with rt.db.session() as db:
        auth.add(db, email, role, STAFF_PASSWORD, rt.now(), **area)


class Client:
    """The test client as a signed-in programme officer would use the console: with the console
    core, it signs in (as `role`) and posts every form with its CSRF token, from the console's
    origin; without it, it is the plain test client (tests set `g.staff` themselves)."""

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, app, rt, role: str = "programme",
                 email: str = "programme@sathi.example.org", **area):
        self.app, self.client = app, app.test_client()
        self.token = None
        path = sign_in_path(app)
        if path is None:  # no console core: signed in as its require_staff would sign in
            from types import SimpleNamespace

            from flask import g

            staff = SimpleNamespace(email=email, role=role, **area)

            @app.before_request
            def _signed_in():
                g.staff = staff
        else:
            add_staff(rt, email, role, **area)
            self.token = self._token(path)
            r = self.client.post(path, data={"email": email, "password": STAFF_PASSWORD,
                                             "csrf_token": self.token},
                                 base_url=BASE, headers={"Referer": BASE + path})
            assert r.status_code in (302, 303), r.status_code
            self.token = self._token("/console/simulator/")

    def _token(self, path: str) -> str:
        html = self.client.get(path, base_url=BASE).get_data(as_text=True)
        return self.TOKEN.search(html).group(1)

    def get(self, path, **kw):
        return self.client.get(path, base_url=BASE, **kw)

    def post(self, path, data=None, **kw):
        data = dict(data or {})
        if self.token is not None:
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, base_url=BASE,
                                headers={"Referer": BASE + path}, **kw)


class Page(HTMLParser):
    """Elements by class: the text of every element carrying a class, in document order."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[set[str], str]] = []
        self._open: list[tuple[str, set[str], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "br", "meta", "link", "img"):
            return
        self._open.append((tag, set((dict(attrs).get("class") or "").split()), []))

    def handle_endtag(self, tag):
        while self._open:
            name, classes, text = self._open.pop()
            if classes:
                self.found.append((classes, "".join(text).strip()))
            if self._open:
                self._open[-1][2].extend(text)
            if name == tag:
                break

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)

    def texts(self, *classes: str) -> list[str]:
        """The text of each element with all these classes, in document order of closing."""
        return [text for cls, text in self.found if set(classes) <= cls]


def new_replies(html: str) -> list[str]:
    """The bubbles this turn added to the phone's screen: the service's replies."""
    return Page(html).texts("body-new")
