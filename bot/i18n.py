"""Catalogues, Bengali digits, and the pybabel extractor for flow files.

Message ids are keys ("onboarding.welcome"); locales/bn, locales/en and locales/bn_Latn hold the
text. The .po files are compiled in memory when first used, so a fresh checkout needs no build step.
Romanised Bangla ("bn-Latn": plain ASCII, so an SMS segment holds 160 characters, not 70) falls
back to the Bangla text for a key it lacks, and keeps ASCII digits.
"""
from __future__ import annotations

import copy
import io
import unicodedata
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("bn", "en", "bn-Latn")
DEFAULT_LANGUAGE = "bn"
FALLBACK = {"bn-Latn": "bn"}  # a key a catalogue lacks is said in this language instead


def catalogue_dir(language: str) -> str:
    """locales/<dir>: "bn-Latn" lives in bn_Latn (gettext's spelling)."""
    return language.replace("-", "_")


def babel_locale(language: str) -> str:
    """The locale Babel reads a catalogue as: CLDR has no bn-Latn, so plain "bn"."""
    return language.split("-")[0]

_TO_BENGALI = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
_TO_ASCII = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")


def N_(key: str) -> str:
    """Marks a message key for extraction; returns it unchanged."""
    return key


def bengali_digits(text: str) -> str:
    return text.translate(_TO_BENGALI)


def ascii_digits(text: str) -> str:
    return text.translate(_TO_ASCII)


def localise_digits(text: str, language: str) -> str:
    return bengali_digits(text) if language == "bn" else text


WEEKDAYS_LATN = ("Sombar", "Mongolbar", "Budhbar", "Brihospotibar", "Shukrobar", "Shonibar",
                 "Robibar")  # Monday first, as date.weekday() counts; CLDR has no romanised Bangla


def weekday_name(day: date, language: str) -> str:
    """The name of `day`'s weekday in `language`, for a message's {day}: Babel's (CLDR) names in
    Bangla and English, plain ASCII ones in romanised Bangla so its SMS stays GSM-7."""
    if language == "bn-Latn":
        return WEEKDAYS_LATN[day.weekday()]
    return format_date(day, "EEEE", locale=language if language in LANGUAGES else "en")


class MissingTranslation(LookupError):
    pass


class Catalogues:
    """The compiled catalogues of one locales/ directory."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.overrides: dict[tuple[str, str], str] = {}  # (key, language) -> an edited text
        self._translations: dict[str, Translations] = {}
        for lang in LANGUAGES:
            po = self.directory / catalogue_dir(lang) / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as f:
                catalog = read_po(f, locale=babel_locale(lang))
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            self._translations[lang] = Translations(buf)

    def overlaid(self, overrides: dict[tuple[str, str], str]) -> "Catalogues":
        """These catalogues with `overrides` ((key, language) -> text: the console's edits)
        said instead of the .po files' texts; the .po files are not read again."""
        other = copy.copy(self)
        other.overrides = dict(overrides)
        return other

    def shipped(self, key: str, language: str) -> str | None:
        """The .po file's own text for `key`, whatever was edited."""
        if language not in self._translations:
            return None
        template = self._translations[language].gettext(key)
        return None if template == key else template

    def template(self, key: str, language: str) -> str | None:
        """`language`'s own text for `key`, placeholders unfilled; None if it has none."""
        edited = self.overrides.get((key, language))
        if edited is not None:
            return edited
        if language not in self._translations:
            return None
        template = self._translations[language].gettext(key)
        return None if template == key else template

    def text(self, key: str, language: str, **params) -> str:
        """The message in `language` (English if the language is unknown; romanised Bangla falls
        back to Bangla), digits localised."""
        language = language if language in self._translations else "en"
        template = self.template(key, language)
        if template is None and language in FALLBACK:
            language = FALLBACK[language]
            template = self.template(key, language)
        if template is None:
            raise MissingTranslation(f"{key} has no {language} text")
        text = template.format(**{k: v for k, v in params.items()})
        return unicodedata.normalize("NFC", localise_digits(text, language))


@lru_cache(maxsize=4)
def catalogues(directory: str) -> Catalogues:
    return Catalogues(Path(directory))
