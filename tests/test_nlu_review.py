"""The review loop: what the NLU made of each message is kept; staff see the messages it was
unsure of, phone numbers masked, with its two best guesses; a line they label goes into the
training data, after the data tests' checks, and the service then understands it."""
import csv
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.logs import mask_numbers
from bot.nlu import data, defaults, embedded, thresholds
from bot.store.models import Message, Question, Understood

TEACHER = "+8801711000001"
SURE = "dhonnobad"  # thanks, far above its bar
UNSURE_WITH_NUMBER = "amar notun number 01711 000 099"  # opt_out at about 0.7: below its bar
JUST_OVER = "kono manush ache ekhane"  # menu, acted on, but only just above its bar
NEW = "sir er sathe alap korte chai"  # "I'd like to talk with sir": not understood, yet


@pytest.fixture
def training_copy(tmp_path, monkeypatch):
    """Labels go to copies of the training files and the bars, never to the repository's."""
    for name in ("DATA", "OBSTACLE_DATA", "THRESHOLDS"):
        original = getattr(defaults, name)
        shutil.copy(original, tmp_path / original.name)
        monkeypatch.setattr(defaults, name, tmp_path / original.name)
    embedded.forget()
    thresholds.forget()
    yield tmp_path
    embedded.forget()
    thresholds.forget()


def _onboard(tw, work):
    for text in ("hi", "1", "1"):
        tw.sms(TEACHER, text)
        work()


def _send(tw, work, twilio, text):
    n = len(twilio.messages())
    tw.sms(TEACHER, text)
    work()
    return [m["Body"] for m in twilio.messages()[n:]]


def _review(*args):
    result = CliRunner().invoke(main, ["nlu", "review", *args])
    return result


def test_every_message_in_words_is_recorded_and_the_unsure_are_listed(rt, roster, tw, work,
                                                                       twilio):
    _onboard(tw, work)
    for text in (SURE, UNSURE_WITH_NUMBER, JUST_OVER):
        _send(tw, work, twilio, text)
    with rt.db.session() as db:
        rows = {m.body: u for u, m in db.execute(
            select(Understood, Message).join(Message, Message.id == Understood.message_id))}
    # every message in words ("hi" started onboarding), none of the numbers ("1")
    assert set(rows) == {"hi", SURE, UNSURE_WITH_NUMBER, JUST_OVER}
    assert (rows[SURE].intent, rows[SURE].backend) == ("thanks", "embedded")
    assert rows[UNSURE_WITH_NUMBER].intent is None and rows[UNSURE_WITH_NUMBER].guess
    assert rows[UNSURE_WITH_NUMBER].runner_up and rows[UNSURE_WITH_NUMBER].bar >= 0.35
    assert rows[JUST_OVER].intent == "menu"

    result = _review()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert not any(SURE in line for line in lines)
    listed = [line for line in lines if "amar notun number" in line]
    assert len(listed) == 1 and "…" in listed[0] and "01711" not in result.output
    assert "—" in listed[0]  # no intent acted on
    assert any(JUST_OVER in line and "menu" in line for line in lines)
    # newest first, and --limit keeps the newest
    assert lines.index(next(l for l in lines if JUST_OVER in l)) < lines.index(listed[0])
    only = _review("--limit", "1").output
    assert JUST_OVER in only and "amar notun number" not in only
    assert "nothing to review" in _review("--since", "2099-01-01").output


def test_a_labelled_line_goes_into_training_and_is_then_understood(rt, roster, tw, work, twilio,
                                                                   training_copy):
    _onboard(tw, work)
    assert _send(tw, work, twilio, NEW) == [rt.catalogues.text("nlu.didnt_understand", "bn")]

    sheet = training_copy / "review.csv"
    assert _review("--csv", str(sheet)).exit_code == 0
    with open(sheet, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["text"] for r in rows] == [NEW] and rows[0]["label"] == ""
    rows[0]["label"] = "call_me"
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    result = _review("--label", str(sheet))
    assert result.exit_code == 0, result.output
    assert "1 line(s) added to nlu.yml" in result.output
    assert ("call_me", NEW) in {(e.intent, e.text) for e in data.load(defaults.DATA)}
    assert thresholds.load()["intents"]["data"] == thresholds.digest(defaults.DATA)
    assert "nothing to review" in _review().output  # the labelled message is done

    assert _send(tw, work, twilio, NEW) == [rt.catalogues.text("nlu.call_saved", "bn")]
    with rt.db.session() as db:
        assert db.execute(select(Question.intent).where(Question.text == NEW)).scalar() == \
            "call_me"


def test_a_label_file_with_a_bad_line_adds_nothing(rt, training_copy):
    heldout = data.load(defaults.HELDOUT)[0]
    sheet = training_copy / "labels.csv"
    rows = [
        ("ami ekhon ektu alap korte chai sir er sathe", "call_me"),  # fine on its own
        (heldout.text, heldout.intent),  # an evaluation line
        ("Tips ta kaje laglo!", "thanks"),  # already in training, once folded
        ("amar number 01711000001 e call din", "call_me"),  # a phone number
        ("kemon achen", "chitchat"),  # not an intent
        ("line one\nline two", "greet"),
        ("module [3](module) kothay", "question"),  # Rasa markup
        ("ami ekhon ektu alap korte chai sir er sathe", "call_me"),  # twice in the file
        ("no label given", ""),  # skipped, not an error
    ]
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    before = defaults.DATA.read_bytes(), defaults.THRESHOLDS.read_bytes()
    result = CliRunner().invoke(main, ["nlu", "review", "--label", str(sheet)])
    assert result.exit_code == 1
    problems = result.stderr.splitlines()
    for reason in ("evaluation file", "already in nlu.yml", "phone number",
                   "'chitchat' is neither an intent nor an obstacle code", "more than one line",
                   "markup", "repeats an earlier line"):
        assert sum(reason in p for p in problems) == 1, reason
    assert len([p for p in problems if ": line " in p]) == 7 and "nothing added" in result.stderr
    assert (defaults.DATA.read_bytes(), defaults.THRESHOLDS.read_bytes()) == before


def test_an_obstacle_label_goes_to_the_obstacle_data(rt, training_copy):
    sheet = training_copy / "labels.csv"
    sheet.write_text("text,label\nkhelar jonno maath chilo na,materials\n", encoding="utf-8")
    result = _review("--label", str(sheet))
    assert result.exit_code == 0, result.output
    assert ("materials", "khelar jonno maath chilo na") in \
        {(e.intent, e.text) for e in data.load(defaults.OBSTACLE_DATA)}
    assert thresholds.load()["obstacles"]["data"] == thresholds.digest(defaults.OBSTACLE_DATA)


@pytest.mark.parametrize("text,masked", [
    ("call 01711000099 please", "call … please"),
    ("amar number ০১৭১১-০০০০৯৯", "amar number …"),
    ("+880 1711 000 099 e phone din", "… e phone din"),
    ("module 3, 25 jon", "module 3, 25 jon"),  # short numbers stay
])
def test_phone_numbers_are_masked(text, masked):
    assert mask_numbers(text) == masked
