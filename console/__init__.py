"""The programme console: a web console for the programme team and the district and upazila
officers (issue 18). Flask blueprints, Jinja templates (templates/console/), plain CSS
(static/), no script from elsewhere: it works offline.

    auth.py       staff sign-in and sign-out (scrypt hashes, lockout), `require_staff` (every
                  console page: the signed-in account in `flask.g.staff`, CSRF on every form),
                  the staff's area and language
    text.py       the console's words from the gettext catalogues (Bangla first), digits
    dashboard.py  an area's week and last 12 weeks from the weekly rollup (bot/digests), charts
                  drawn here as SVG (charts.py), every table as CSV
    people.py     search by phone or school, a person's messages, flow runs and answers, opt
                  out or back in (the same step as STOP / START)
    roster.py     a roster CSV: every bad row shown before anything is saved, then confirmed
    simulator.py  the phone simulator: chat and take a call as a person, through the same
                  inbound, engine, outbox and ivr conversation as a real phone; nothing leaves
    content.py    modules, activities, flow texts and leadership tips side by side in bn, en
                  and bn-Latn with SMS segments; edits linted, laid over the files, audited
    ui.py         what the simulator's and content's templates share
    cli.py        `sathi staff add`

`register(app)` mounts all of it under /console. An officer sees only their area:
contacts.jurisdiction's `schools_in` (the digests' one rule) decides every page and CSV.

May import: anything in bot/ (config, i18n, store, contacts, digests, campaigns, msgs,
assessment, channels, runtime) and ivr/ (the simulator takes calls through its conversation).
Nothing in bot/ or ivr/ imports console, except the entry points that wire it in: app.py (the
blueprints) and bot/cli.py (the `sathi staff` commands).
"""
from __future__ import annotations

from flask import Blueprint, Flask

STATIC_MAX_AGE = 3600  # seconds a browser keeps the console's CSS


def register(app: Flask) -> None:
    """Mount the console under /console: sign-in, dashboard, people, roster, and the
    simulator and content editor. Every page but the sign-in needs a signed-in
    account (auth.require_staff runs before each), every POST a CSRF token."""
    from . import auth, content, dashboard, people, roster, simulator

    auth.setup(app)
    console = Blueprint("console", __name__, url_prefix="/console",
                        template_folder="templates", static_folder="static")
    console.before_request(auth.require_staff)
    console.context_processor(auth.template_context)
    for code in auth.ERRORS:
        console.register_error_handler(code, auth.error_page)
    for module in (auth, dashboard, people, roster):
        console.register_blueprint(module.bp)
    console.register_blueprint(simulator.bp, url_prefix="/simulator")
    console.register_blueprint(content.bp, url_prefix="/content")
    app.register_blueprint(console)
