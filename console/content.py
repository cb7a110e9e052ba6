"""Content (/console/content): modules, activities, flow texts and leadership tips side by side
in bn, en and bn-Latn, each with its SMS segments, and edits that take effect for the next sends.

Where an edit takes effect: in the database, not in the files. An edit is a `content_edit` row
laid over flows/content/*.yaml and locales/*/messages.po by every process (bot/runtime.py:
`content`, `catalogues`; another process sees it within CONTENT_RECHECK seconds), so the next
nudge or reply says it with no deploy, on every web host and worker alike, and a deploy of the
files never overwrites it. Before it is saved, the content as it would be goes through the same
lint as `sathi content lint` (bot/campaigns/content.py: `check_edit`); a flow text is held to
the same rules (its placeholders, digits, GSM-7, at most 2 SMS segments or its shipped length).
A refused edit changes nothing and shows the lint's reasons. Every saved edit writes a
`content_audit` row: who (the signed-in staff's email, or "cli"), when, the text before and after.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import runtime
from bot.campaigns.content import (
    ACTIVITY_FIELDS,
    EDIT_KINDS,
    Edit,
    budget,
    save_edit,
    texts_of,
)
from bot.channels.segments import count
from bot.i18n import LANGUAGES, N_
from bot.store.models import ContentAudit, ContentEdit

from . import ui

bp = Blueprint("content", __name__, url_prefix="/console/content", template_folder="templates")

SECTIONS = ("modules", "tips", "messages")
EDITORS = (None, "admin", "programme")  # staff roles that may edit (None: no sign-in, the CLI)
AUDIT_SHOWN = 20  # latest changes listed under the tables
CONSOLE_KEYS = "console."  # the console's own texts are not the service's content

STRINGS = (
    N_("console.content.title"), N_("console.content.intro"), N_("console.content.modules"),
    N_("console.content.tips"), N_("console.content.messages"), N_("console.content.module"),
    N_("console.content.activity"), N_("console.content.field"), N_("console.content.key"),
    N_("console.content.segments"), N_("console.content.edit"), N_("console.content.save"),
    N_("console.content.cancel"), N_("console.content.refused"), N_("console.content.saved"),
    N_("console.content.audit"), N_("console.content.who"), N_("console.content.when"),
    N_("console.content.what"), N_("console.content.before"), N_("console.content.after"),
    N_("console.content.no_text"), N_("console.content.week"), N_("console.content.takes_effect"),
    N_("console.content.placeholders"), N_("console.content.no_changes"),
    N_("console.content.edited"), N_("console.content.kind.module"),
    N_("console.content.kind.activity"), N_("console.content.kind.tip"),
    N_("console.content.kind.message"), N_("console.content.field.title"),
    N_("console.content.field.description"), N_("console.content.field.materials"),
    N_("console.content.field.try_it"), N_("console.content.field.text"),
)
"""The page's texts (the templates say them by key through the catalogues)."""


@bp.context_processor
def _helpers():
    return ui.context()


def _who() -> str:
    staff = g.get("staff")
    return getattr(staff, "email", None) or "cli"


def _may_edit() -> bool:
    staff = g.get("staff")
    return getattr(staff, "role", None) in EDITORS


def _rows(section: str) -> list[dict]:
    """The texts of a section: {kind, item, field, label, texts: {lang: (text, Segments)}}."""
    rt = runtime.current()
    content, catalogues = rt.content, rt.catalogues

    edited = _edited()

    def row(kind, item, name, label, texts):
        return {"kind": kind, "item": item, "field": name, "label": label,
                "texts": {lang: (texts[lang], count(texts[lang]),
                                 (kind, item, name, lang) in edited) if lang in texts else None
                          for lang in LANGUAGES}}

    rows = []
    if section == "modules":
        for m in content.modules.values():
            rows.append(row("module", str(m.id), "title", ("module", m.id, "title"), m.title))
            for a in m.activities:
                for name in ACTIVITY_FIELDS:
                    rows.append(row("activity", a.id, name, ("activity", a.id, name),
                                    getattr(a, name)))
    elif section == "tips":
        for t in content.tips():
            rows.append(row("tip", t.id, "text", ("tip", t.id, t.theme), t.text))
    else:
        for key in _message_keys():
            rows.append(row("message", key, "", ("message", key, ""),
                            texts_of(content, catalogues, "message", key, "")))
    return rows


def _edited() -> set[tuple[str, str, str, str]]:
    """The texts an edit of the console is laid over: (kind, item, field, language)."""
    with runtime.current().db.session() as db:
        return set(db.execute(select(ContentEdit.kind, ContentEdit.item, ContentEdit.field,
                                     ContentEdit.language)).all())


def _message_keys() -> list[str]:
    """Every flow text of the Bangla catalogue (the service's messages, not the console's)."""
    catalogues = runtime.current().catalogues
    po = catalogues.directory / "bn" / "LC_MESSAGES" / "messages.po"
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale="bn")
    return sorted(m.id for m in catalog if m.id and not str(m.id).startswith(CONSOLE_KEYS))


def _audit() -> list[ContentAudit]:
    with runtime.current().db.session() as db:
        rows = db.execute(select(ContentAudit).order_by(ContentAudit.id.desc())
                          .limit(AUDIT_SHOWN)).scalars().all()
        for r in rows:
            db.expunge(r)
    return rows


@bp.get("/")
def index():
    section = request.args.get("section", "modules")
    if section not in SECTIONS:
        abort(404)
    rt = runtime.current()
    week = budget(rt.content, rt.catalogues)[0].week
    return render_template("console/content.html", section=section, sections=SECTIONS,
                           rows=_rows(section), week=week, audit=_audit(),
                           saved=request.args.get("saved"), may_edit=_may_edit())


def _target(values) -> tuple[str, str, str, str]:
    kind, item = values.get("kind", ""), values.get("item", "")
    name, language = values.get("field", ""), values.get("language", "")
    if kind not in EDIT_KINDS or name not in EDIT_KINDS[kind] or language not in LANGUAGES:
        abort(404)
    return kind, item, name, language


def _texts(kind: str, item: str, name: str) -> dict:
    rt = runtime.current()
    try:
        return texts_of(rt.content, rt.catalogues, kind, item, name)
    except KeyError:
        abort(404)


@bp.get("/edit")
def edit():
    if not _may_edit():
        abort(403)
    kind, item, name, language = _target(request.args)
    texts = _texts(kind, item, name)
    return render_template("console/content.html", section=None, editing={
        "kind": kind, "item": item, "field": name, "language": language,
        "text": request.args.get("text", texts.get(language, "")), "texts": texts,
        "segments": count(texts.get(language, ""))}, problems=[], sections=SECTIONS)


@bp.post("/edit")
def save():
    if not _may_edit():
        abort(403)
    kind, item, name, language = _target(request.form)
    texts = _texts(kind, item, name)
    text = (request.form.get("text") or "").replace("\r\n", "\n").strip()
    rt = runtime.current()
    with rt.db.session() as db:
        problems = save_edit(db, rt.content, rt.catalogues, rt.levels,
                             Edit(kind, item, name, language, text), _who(), rt.now())
    if problems:
        return render_template("console/content.html", section=None, editing={
            "kind": kind, "item": item, "field": name, "language": language, "text": text,
            "texts": texts, "segments": count(text)}, problems=problems,
            sections=SECTIONS), 422
    rt.content_changed()
    section = {"module": "modules", "activity": "modules", "tip": "tips"}.get(kind, "messages")
    return redirect(url_for(".index", section=section, saved=f"{kind}:{item}")
                    + f"#{kind}-{item}-{name}")
