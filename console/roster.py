"""A roster CSV uploaded in the page: checked by the roster import itself (contacts.roster) in
a transaction that is rolled back, so the preview lists every bad row with its reason (in the
staff's language) and what would be added or updated, and nothing is saved; the file waits in
Redis (PENDING_FOR) until the same person confirms it, and is then imported for real (the bad
rows skipped, as `sathi roster import` does).

The programme team and admins only: an officer's roster is the programme office's to keep.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import secrets

from flask import Blueprint, abort, g, render_template, request

from bot import runtime
from bot.contacts import roster
from bot.i18n import N_

from . import text
from .auth import role_in

bp = Blueprint("roster", __name__)
log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024  # a roster upload (a district's teachers is well under this)
PENDING_FOR = 3600  # seconds an uploaded roster waits for its confirmation
KEY = "sathi:console:roster:{}"
REASONS = {code: f"console.roster.{code}" for code in roster.REASONS}  # keys, checked below
N_("console.roster.missing_columns"), N_("console.roster.duplicate_phone")
N_("console.roster.invalid_phone"), N_("console.roster.no_name"), N_("console.roster.bad_role")
N_("console.roster.bad_language"), N_("console.roster.bad_channel")
N_("console.roster.needs_school"), N_("console.roster.officer_needs_district")
N_("console.roster.ambassador_needs_area"), N_("console.roster.not_mobile")
N_("console.roster.too_long"), N_("console.roster.school_needs_place")
N_("console.roster.school_two_places")
NOT_CSV = N_("console.roster.not_csv")


@bp.before_request
def _programme_only():
    role_in("admin", "programme")
    request.max_content_length = MAX_BYTES  # the webhooks' own limit is far smaller


def reason(r: roster.Reason) -> str:
    """A refused row's reason in the staff's language."""
    return text.t(REASONS[r.code], **r.params)


def _check(body: str) -> tuple[roster.Report, dict[int, dict]]:
    """The import's report on `body`, rolled back: nothing is saved. {line: row} too."""
    rt = runtime.current()
    rows = {}
    reader = csv.DictReader(io.StringIO(body))
    for row in reader:
        rows[reader.line_num] = row
    with rt.db.sessions() as db:  # a transaction of its own, rolled back whole
        try:
            report = roster.import_rows(db, csv.DictReader(io.StringIO(body)), rt.now())
        finally:
            db.rollback()
    return report, rows


@bp.get("/roster")
def form():
    return render_template("console/roster.html")


@bp.post("/roster")
def preview():
    upload = request.files.get("roster")
    try:
        body = upload.read().decode("utf-8-sig") if upload else ""
    except UnicodeDecodeError:
        body = ""
    if not body.strip():
        return render_template("console/roster.html", error=text.t(NOT_CSV)), 400
    report, rows = _check(body)
    token = secrets.token_urlsafe(24)
    good = report.created + report.updated + report.unchanged
    if good:
        runtime.current().redis.set(KEY.format(token), json.dumps(
            {"staff": g.staff.id, "body": body}), ex=PENDING_FOR)
    bad = [(line, rows.get(line, {}), reason(r)) for line, r in report.errors]
    return render_template("console/roster.html", report=report, bad=bad, good=good,
                           token=token if good else None,
                           filename=upload.filename if upload else "")


@bp.post("/roster/confirm")
def confirm():
    rt = runtime.current()
    token = request.form.get("token", "")
    pending = rt.redis.getdel(KEY.format(token)) if token else None
    if pending is None:
        abort(410)  # confirmed already, or waited too long: upload it again
    pending = json.loads(pending)
    if pending["staff"] != g.staff.id:
        abort(403)
    with rt.db.session() as db:
        report = roster.import_rows(db, csv.DictReader(io.StringIO(pending["body"])), rt.now())
    log.info("console: account %s imported a roster: %s", g.staff.id, report.summary())
    return render_template("console/roster.html", done=report,
                           bad=[(line, {}, reason(r)) for line, r in report.errors])
