"""The console's pages as a test reads them (what a person sees), and the console app for
tests: c18a's console core when it is there, or the blueprints on the service's own app."""
from __future__ import annotations

from html.parser import HTMLParser

SECRET = "console-test-secret-not-a-secret"


def console_app(rt, **config):
    """The service's app with the console's blueprints, mounted as the console core mounts them
    (console.register: one "console" blueprint at /console with these nested in it), for the
    test client or a real server. Without the core, nothing signs in: a test sets `g.staff`
    itself when it needs an account."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": SECRET, **config}, rt=rt)
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
