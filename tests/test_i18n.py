"""Every message has Bangla (first) and English text, Bengali digits, and fits its SMS budget."""
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from bot.campaigns.content import activity_fields, load_content, longest_weekday
from bot.channels.segments import count
from bot.config import ROOT
from bot.i18n import Catalogues, ascii_digits, babel_locale, bengali_digits, catalogue_dir

LOCALES = ROOT / "locales"
MAX_SEGMENTS = 2  # a reply costs at most two SMS segments in either language
CONSOLE = "console."  # the staff console's page texts: never sent, so no SMS budget
SAMPLE = {"name": "মোঃ করিম উদ্দিন"}
# assessment placeholders, short: tests/test_assessment.py renders their real worst cases
SAMPLE.update({"slot": 5, "token": "x" * 15, "top": 4, "count": 12, "bad": 99, "changes": "x",
               "grade": 2, "level": 4, "menu": "0=x", "read_back": "1: 4",
               "grade_note": "", "summary": "x", "advice": "x", "change": "x",
               "activities": "x", "previous": "4 4 4 4 4", "video": 99})
# text from the roster and from teachers, in Bangla script whatever the reader's language: a
# partner's name, an upazila, a story's teller and words (trimmed to fit by the story itself)
ROSTER_TEXT = {"partner": "মোঃ করিম উদ্দিন আহমেদ", "upazila": "লক্ষ্মীছড়ি",
               "who": "মোঃ করিম উদ্দিন আহমেদ", "quote": "x"}
# digest placeholders, short: tests/test_digests.py renders their worst cases (5-digit counts)
SAMPLE.update({"area": "চরফ্যাশন", "text": "x", "month": "ডিসেম্বর", "page": 2, "pages": 3,
               "active": 12, "teachers": 15, "joined": 1, "opted_out": 0, "tried": "45%",
               "answered": "60%", "meetings": 8, "schools": 12, "obstacle": "সময়",
               "upazilas": "x", "upazila": "চরফ্যাশন", "share": "12%", "range": "0-4",
               "shares": "10/20/30/25/15%", "weeks": 3, "asked": 10, "meeting": "হয়েছে",
               "emis": "91010101", "school": "চরফ্যাশন সপ্রাবি", "summary": "x", "names": "x",
               "levels": "1/2/3/2/1", "questions": "x", "teacher_nominee": "রহিমা বেগম",
               "teacher_school": "চরফ্যাশন সপ্রাবি", "teacher_score": 4, "teacher_weeks": 4,
               "head_nominee": "মোঃ করিম উদ্দিন", "head_school": "চরফ্যাশন সপ্রাবি",
               "head_score": 4, "head_weeks": 4, "outcome": "x", "nominee": "রহিমা বেগম",
               "score": 4, "teacher": "রহিমা বেগম"})
ROSTER_LATN = {"area": "Charfasson", "upazila": "Charfasson", "school": "Charfasson GPS",
               "teacher_nominee": "Rahima Begum", "teacher_school": "Charfasson GPS",
               "head_nominee": "Md Karim Uddin", "head_school": "Charfasson GPS",
               "nominee": "Rahima Begum", "obstacle": "somoy", "meeting": "hoyeche",
               "month": "December", "teacher": "Rahima Begum"}
"""What the roster holds in Bangla script, as a romanised roster would hold it: a name in
Bangla script makes any SMS UCS-2, whatever the language of the text around it."""
WEEKLY_SAMPLE = {"time": "সন্ধ্যা ১২টায়", "day": "বৃহস্পতিবার", "hour": 12,
                 "when": "আগামী বৃহস্পতিবার সন্ধ্যা ১২টায়"}  # and each activity's texts
CONTENT = load_content(ROOT / "flows" / "content")
CATS = Catalogues(LOCALES)


def samples(lang):
    """Params for every message, once with each activity's texts (the lint checks them too); the
    parts the service composes ({day}, {next}, {remind}, {video}) at their longest in `lang`."""
    day = longest_weekday(lang)
    composed = {"day": day, "next": CATS.text("when.next_day", lang, day=day),
                "remind": CATS.text("plan.remind", lang, day=day),
                "video": CATS.text("plan.video", lang, video=99)}
    return [{**SAMPLE, **WEEKLY_SAMPLE, **ROSTER_TEXT, **composed, **activity_fields(a, lang)}
            for a in CONTENT.activities]


def catalog(lang):
    with open(LOCALES / catalogue_dir(lang) / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=babel_locale(lang))


def template():
    with open(LOCALES / "messages.pot", "rb") as f:
        return read_po(f)


KEYS = sorted(m.id for m in template() if m.id)


def _voice_only() -> set[str]:
    """Keys said only on calls: they have no SMS budget (tests/test_voice.py checks them for
    the ear instead)."""
    from bot.flows.definition import load_flows, message_keys
    from ivr.prompts import voice_keys

    flows = load_flows(ROOT / "flows")
    texted = {k for f in flows.values() for ch in ("sms", "whatsapp") if f.runs_on(ch)
              for k in message_keys(f, ch)}
    return set(voice_keys(flows)) - texted


VOICE_ONLY = _voice_only()


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
    if key in VOICE_ONLY or key.startswith(CONSOLE):
        return
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


ROMANISED = [k for k in KEYS if k in catalog("bn-Latn") and catalog("bn-Latn")[k].string]


@pytest.mark.parametrize("key", ROMANISED)
def test_romanised_bangla_is_gsm7_with_ascii_digits_and_fits_two_segments(key):
    """bn-Latn exists to be cheap: plain GSM-7 (160 characters a segment), never UCS-2."""
    text = catalog("bn-Latn")[key].string
    # a subset: the welcome leaves out {name}, which the roster holds in Bangla script (UCS-2)
    bangla = catalog("bn")[key].string
    placeholders = set(re.findall(r"{(\w+)}", text))
    assert placeholders <= set(re.findall(r"{(\w+)}", bangla))
    assert not re.search(r"[\u0980-\u09FF]", text)
    if key.startswith(CONSOLE):
        return
    cats = Catalogues(LOCALES)
    for params in samples("bn-Latn"):
        params.update(time="sondhya 12tay",
                      when="agami Brihospotibar sondhya 12tay")  # as the snooze renders them
        params.update(ROSTER_LATN)
        said = cats.text(key, "bn-Latn", **params)
        # a partner's name or a colleague's story is in the roster's (or teacher's) Bangla
        # script: such a message is UCS-2 even in romanised Bangla, and must still fit
        if not placeholders & set(ROSTER_TEXT):
            assert count(said).encoding == "GSM-7", said
        assert count(said).segments <= MAX_SEGMENTS, said


def test_the_weekly_keys_have_romanised_text():
    """Other keys may fall back to Bangla; the weekly cycle's (most of the SMS sent) may not."""
    from bot.campaigns.content import REFLECTION_KEYS, SCHEDULED_KEYS

    assert set(SCHEDULED_KEYS + REFLECTION_KEYS) <= set(ROMANISED)


def test_romanised_keeps_ascii_digits_and_falls_back_to_bangla(tmp_path):
    import shutil

    shutil.copytree(LOCALES, tmp_path / "locales")
    po = tmp_path / "locales" / "bn_Latn" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    start = text.index('msgid "when.today"')
    end = text.index("\n\n", start)
    po.write_text(text[:start] + 'msgid "when.today"\nmsgstr ""' + text[end:],
                  encoding="utf-8")
    cats = Catalogues(tmp_path / "locales")
    # no romanised text: the Bangla one, with Bengali digits as Bangla has them
    assert cats.text("when.today", "bn-Latn", time="15:00") == \
        cats.text("when.today", "bn", time="15:00")
    assert "১৫:০০" in cats.text("when.today", "bn-Latn", time="15:00")
    # romanised text keeps ASCII digits, in the text and in the params
    said = cats.text("when.day", "bn-Latn", day="Robibar", time="15:00")
    assert "15:00" in said and not re.search(r"[\u0980-\u09FF]", said)
    assert "1" in cats.text("onboarding.ask_language", "bn-Latn")


def test_weekday_names_for_the_day_param_keep_romanised_bangla_gsm7():
    from datetime import date

    from bot.i18n import weekday_name

    thursday = date(2026, 11, 26)
    assert weekday_name(thursday, "bn") == "বৃহস্পতিবার"
    assert weekday_name(thursday, "en") == "Thursday"
    assert weekday_name(thursday, "bn-Latn") == "Brihospotibar"
    assert [weekday_name(date(2026, 11, 22 + i), "bn-Latn") for i in range(7)] == [
        "Robibar", "Sombar", "Mongolbar", "Budhbar", "Brihospotibar", "Shukrobar", "Shonibar"]
    said = Catalogues(LOCALES).text("when.day", "bn-Latn",
                                    day=weekday_name(thursday, "bn-Latn"), time="sokal 10tay")
    assert count(said).encoding == "GSM-7"
