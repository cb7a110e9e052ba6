"""What the console's templates share: the staff's language (bn first), its texts from the
catalogues (locales/*/messages.po, keys console.*), and numbers in that language's digits."""
from __future__ import annotations

from flask import g, request, session

from bot import runtime
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, localise_digits

LANGUAGE_NAMES = {"bn": "বাংলা", "en": "English", "bn-Latn": "Banglish"}  # each in itself


def language() -> str:
    """The staff's language: ?lang= (kept in the session), else the one kept on their account
    (the console core's switch), else the session's, else Bangla."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    chosen = getattr(g.get("staff"), "language", None) or session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def context() -> dict:
    """The templates' helpers: t(key, **params), num(n), the language and the languages."""
    lang = language()
    catalogues = runtime.current().catalogues

    def t(key: str, **params) -> str:
        return catalogues.text(key, lang, **params)

    def num(n) -> str:
        return localise_digits(str(n), lang)

    return {"t": t, "num": num, "ui_language": lang, "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "html_lang": "bn" if lang == "bn" else "en" if lang == "en" else "bn-Latn"}
