"""Staff sign-in: accounts in the `staff` table (made by `sathi staff add`), passwords kept as
werkzeug scrypt hashes, a Flask session cookie (Secure, HttpOnly, SameSite=Lax), CSRF tokens on
every form (Flask-WTF), and a lockout after MAX_FAILURES wrong passwords in a row, recorded in
the database so it holds across processes.

The contract every console blueprint relies on: `require_staff` runs before each console
request; it refuses a POST without its CSRF token (400), sends a visitor who is not signed in
to the sign-in page, and puts the signed-in account in `flask.g.staff` (`.email`, `.role`:
admin | programme | officer, `.district`, `.upazila`) and its area in `flask.g.area`
(contacts.jurisdiction: an officer's district or upazila, the country for the others).
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from bot import runtime
from bot.contacts.jurisdiction import Area, area_of, within
from bot.i18n import N_
from bot.store.models import STAFF_ROLES, School, Staff

from . import text

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

MAX_FAILURES = 5  # wrong passwords in a row that lock an account
LOCKED_FOR = timedelta(minutes=15)  # how long a locked account refuses every sign-in
SESSION_LIFETIME = timedelta(hours=12)  # a signed-in session lasts a working day
HASH_METHOD = "scrypt"  # werkzeug's scrypt (n=2**15, r=8, p=1)
PUBLIC = ("console.auth.signin", "console.auth.language", "console.static")  # no sign-in needed

WRONG = N_("console.signin.wrong")
LOCKED = N_("console.signin.locked")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


@lru_cache(maxsize=1)
def _decoy() -> str:
    """A hash checked when no account has the email, so that a sign-in takes as long either way
    and its timing does not tell which emails have accounts."""
    return hash_password(secrets.token_urlsafe(16))


def _secret_key(settings) -> str:
    """SATHI_SECRET_KEY, or a random key made once and kept in the instance directory (made
    whole, then linked into place: web processes starting together all read the same one)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.instance_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def setup(app: Flask) -> None:
    """Session cookie and CSRF settings for the app. CSRF is checked by `require_staff` (the
    console's requests only): the webhooks are signed by their providers instead."""
    settings = runtime.current().settings
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(settings)
    plain = settings.console_plain_http or app.config.get("CONSOLE_PLAIN_HTTP", False)
    app.config.update(SESSION_COOKIE_SECURE=not plain, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
                      WTF_CSRF_CHECK_DEFAULT=False,
                      WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()))
    csrf.init_app(app)


def require_staff():
    """Before every console request: the CSRF check of a POST, then the signed-in account."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()  # 400 without a valid token
    g.staff = g.area = None
    staff_id = session.get("staff_id")
    if staff_id is not None:
        with runtime.current().db.session() as db:
            g.staff = db.get(Staff, staff_id)
        if g.staff is not None and session.get("stamp") != _stamp(g.staff):
            g.staff = None  # the password changed since: sign in again
        if g.staff is None:
            session.clear()
    if g.staff is not None:
        g.area = area_of(g.staff)
    elif request.endpoint not in PUBLIC:
        return redirect(url_for("console.auth.signin", next=request.full_path.rstrip("?")))


def _stamp(staff: Staff) -> str:
    """What the session keeps of the account's password: a digest of its hash, so that a new
    password ends every session signed in with the old one (the cookie is signed, not
    encrypted: it never carries the hash itself)."""
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


def template_context() -> dict:
    return {"N_": text.t, "num": text.num, "pct": text.pct, "digits": text.digits, "when": text.when,
            "lang": text.language(), "staff": g.get("staff")}


ERRORS = {400: N_("console.error.400"), 403: N_("console.error.403"),
          404: N_("console.error.404"), 409: N_("console.error.409"),
          410: N_("console.error.410"), 413: N_("console.error.413")}


def error_page(e):
    """A refused console request, said in the staff's language (a missing CSRF token is a
    400 too)."""
    code = getattr(e, "code", 500) or 500
    return render_template("console/error.html", code=code,
                           message=text.t(ERRORS.get(code, ERRORS[400]))), code


def role_in(*roles: str) -> None:
    """403 unless the signed-in account has one of `roles`."""
    if g.staff is None or g.staff.role not in roles:
        abort(403)


def area_asked(district: str | None, upazila: str | None) -> Area:
    """The area a page was asked for (?district=&upazila=), narrowed to the account's own: an
    officer's pages show their area when none is asked; 403 for an area outside it."""
    mine = g.area
    if mine is None:
        abort(403)
    asked = Area(district=district or mine.district,
                 upazila=upazila or (mine.upazila if not district or district == mine.district
                                     else None))
    if asked.upazila is not None and asked.district is None:
        abort(400)
    if not within(asked, mine):
        abort(403)
    return asked


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself: never a redirect to another site."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return url_for("console.dashboard.show")
    return target


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if request.method == "GET":
        return render_template("console/signin.html", next=request.args.get("next", ""))
    rt = runtime.current()
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    now = rt.now()
    with rt.db.session() as db:
        staff = db.execute(select(Staff).where(func.lower(Staff.email) == email)
                           ).scalar_one_or_none()
        if staff is not None and staff.locked_until is not None and staff.locked_until > now:
            minutes = max(1, -(-int((staff.locked_until - now).total_seconds()) // 60))
            log.warning("console sign-in refused: account %s is locked", staff.id)
            return _refused(LOCKED, 423, minutes=minutes)
        good = check_password_hash(staff.password_hash if staff else _decoy(), password)
        if staff is None or not good:
            if staff is None:
                return _refused(WRONG, 401)
            staff.failed_logins += 1
            if staff.failed_logins < MAX_FAILURES:
                return _refused(WRONG, 401)
            staff.locked_until, staff.failed_logins = now + LOCKED_FOR, 0
            log.warning("console account %s locked after %d failures", staff.id, MAX_FAILURES)
            return _refused(LOCKED, 423, minutes=int(LOCKED_FOR.total_seconds() // 60))
        staff.failed_logins, staff.locked_until, staff.last_login_at = 0, None, now
        staff_id, stamp = staff.id, _stamp(staff)
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["staff_id"], session["stamp"] = staff_id, stamp
    if lang and staff.language != lang:
        _set_language(staff_id, lang)
    log.info("console sign-in: account %s", staff_id)
    return redirect(_safe_next(request.form.get("next")))


def _refused(key: str, status: int, **params):
    return render_template("console/signin.html", error=text.t(key, **params),
                           next=request.form.get("next", ""),
                           email=request.form.get("email", "")), status


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("console.auth.signin"))


def _set_language(staff_id: int, lang: str) -> None:
    with runtime.current().db.session() as db:
        db.get(Staff, staff_id).language = lang


@bp.post("/language")
def language():
    """The staff's language: on their account when signed in, else in the session."""
    lang = request.form.get("lang")
    if lang not in text.LANGUAGES:
        abort(400)
    session["lang"] = lang
    if g.staff is not None:
        _set_language(g.staff.id, lang)
    return redirect(_safe_next(request.form.get("next")))


def add(db, email: str, role: str, password: str, now, district: str | None = None,
        upazila: str | None = None, language: str = text.DEFAULT) -> Staff:
    """A new console account (`sathi staff add`): an officer names a district, and an upazila
    of it or none; the others see everything and name no area."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"not an email address: {email!r}")
    if role not in STAFF_ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(STAFF_ROLES)}")
    if role != "officer" and (district or upazila):
        raise ValueError(f"a {role} sees every area: give no --district or --upazila")
    if upazila and not district:  # the district of the schools of that name, if only one
        found = db.execute(select(School.district).where(School.upazila == upazila)
                           .distinct().order_by(School.district)).scalars().all()
        if len(found) != 1:
            raise ValueError(f"upazila {upazila!r} " + (
                f"is in {len(found)} districts ({', '.join(found)})" if found
                else "has no school on the roster") + ": give --district too")
        district = found[0]
    if role == "officer" and not district:
        raise ValueError("an officer needs --district, or --upazila (with --district when its "
                         "name is in several districts)")
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    if db.execute(select(Staff).where(func.lower(Staff.email) == email)).first():
        raise ValueError(f"{email} already has an account")
    staff = Staff(email=email, role=role, district=district or None, upazila=upazila or None,
                  password_hash=hash_password(password), language=language, failed_logins=0,
                  created_at=now)
    db.add(staff)
    db.flush()
    return staff
