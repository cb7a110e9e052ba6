"""Every message has Bangla (first) and English text, Bengali digits, and fits its SMS budget."""
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from bot.channels.segments import count
from bot.config import ROOT
from bot.content import activity_fields, load_content
from bot.i18n import Catalogues, ascii_digits, bengali_digits

LOCALES = ROOT / "locales"
MAX_SEGMENTS = 2  # a reply costs at most two SMS segments in either language
SAMPLE = {"name": "মোঃ করিম উদ্দিন"}
# assessment placeholders, short: tests/test_assessment.py renders their real worst cases
SAMPLE.update({"slot": 5, "token": "x" * 15, "top": 4, "count": 12, "bad": 99, "changes": "x",
               "grade": 2, "level": 4, "menu": "0=x", "read_back": "1: 4",
               "grade_note": "", "summary": "x", "advice": "x", "change": "x"})
CONTENT = load_content(ROOT / "flows" / "content")


def samples(lang):
    """Params for every message: a long name, a time and day, and each activity's texts."""
    other = {**SAMPLE, "time": "সন্ধ্যা ১২টায়", "day": "বৃহস্পতিবার", "hour": 12,
             "when": "বৃহস্পতিবার সন্ধ্যা ১২টায়"}
    return [{**other, **activity_fields(a, lang)} for a in CONTENT.activities]


def catalog(lang):
    with open(LOCALES / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def template():
    with open(LOCALES / "messages.pot", "rb") as f:
        return read_po(f)


KEYS = sorted(m.id for m in template() if m.id)


def test_the_template_is_up_to_date(tmp_path):
    """A key said by code or a flow but missing from messages.pot fails here."""
    out = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(LOCALES / "babel.cfg"), "-k", "N_", "--no-default-keywords", "-o",
                    str(out), "."], cwd=ROOT, check=True, capture_output=True)
    with open(out, "rb") as f:
        fresh = sorted(m.id for m in read_po(f) if m.id)
    assert fresh == KEYS


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_every_key_is_translated(lang):
    cat = catalog(lang)
    missing = [k for k in KEYS if k not in cat or not cat[k].string or cat[k].fuzzy]
    assert missing == [], f"{lang} lacks: {missing}"


@pytest.mark.parametrize("key", KEYS)
def test_bangla_text_is_bangla_with_bengali_digits(key):
    text = catalog("bn")[key].string
    assert re.search(r"[\u0980-\u09FF]", text), "not written in Bangla"
    assert not re.search(r"[0-9]", text), "ASCII digits in Bangla text"


@pytest.mark.parametrize("key", KEYS)
def test_placeholders_agree_and_each_message_fits_two_segments(key):
    bn, en = catalog("bn")[key].string, catalog("en")[key].string
    assert set(re.findall(r"{(\w+)}", bn)) == set(re.findall(r"{(\w+)}", en))
    cats = Catalogues(LOCALES)
    for lang in ("bn", "en"):
        for params in samples(lang):
            assert count(cats.text(key, lang, **params)).segments <= MAX_SEGMENTS, lang


def test_bangla_output_gets_bengali_digits_in_values(tmp_path):
    cats = Catalogues(LOCALES)
    assert "১" in cats.text("onboarding.ask_language", "bn")
    assert "1" in cats.text("onboarding.ask_language", "en")


def test_digit_maps_round_trip():
    assert bengali_digits("0123456789") == "০১২৩৪৫৬৭৮৯"
    assert ascii_digits("০১২৩৪৫৬৭৮৯") == "0123456789"
