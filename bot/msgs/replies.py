"""What the service answers to an understood message that no flow is waiting for.

Called by bot/msgs/turn.py's Turn. Two cases:
- `respond`: no flow is waiting (or the person has finished onboarding and nothing runs): every
  intent gets a short, sensible answer; a message with no confident intent gets "didn't
  understand" with the menu, never a guess.
- `takes_over`: a flow is waiting but did not route on this intent, and the intent is one that
  stands on its own (a question, a call-back request, help, repeat, a possible opt-out): it is
  answered here and the flow keeps waiting where it was, its tries untouched.

Opt-out by NLU never acts: even at high confidence (defaults.MIN_CONFIDENCE_BY_INTENT) the
service asks the teacher to send STOP, which bot/parse.py matches with certainty. A wrongly
inferred opt-out would silently cut a teacher off; one extra message is the cheaper mistake.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from ..flows.events import InputRejected
from ..i18n import N_
from ..nlu.client import Understanding
from ..store.models import Message
from . import outbox, questions

DIDNT_UNDERSTAND = N_("nlu.didnt_understand")
MENU = N_("nlu.menu")
GREET = N_("nlu.greet")
THANKS = N_("nlu.thanks")
QUESTION_SAVED = N_("nlu.question_saved")
CALL_SAVED = N_("nlu.call_saved")
CONFIRM_STOP = N_("nlu.confirm_stop")
ASK_LANGUAGE = N_("nlu.ask_language")
LANGUAGE_SET = N_("nlu.language_set")
NOTHING_TO_REPEAT = N_("nlu.nothing_to_repeat")
ALREADY_ON = N_("keyword.start_already")
GOT_IT = N_("common.no_flow")

TAKE_OVER = frozenset({"question", "call_me", "help", "repeat", "opt_out"})
"""Intents answered outside a waiting flow when the flow has no route for them."""

_LANGUAGE_WORDS = (
    ("en", re.compile(r"english|inglish|ingreji|engl|ইংরেজি|ইংলিশ|ইংরেজী", re.IGNORECASE)),
    ("bn", re.compile(r"bangla|bengali|bangali|বাংলা|বাঙলা", re.IGNORECASE)),
)
_ROMANISED = re.compile(r"banglish|benglish|banglis|romani[sz]ed|বাংলিশ|ইংরেজি অক্ষরে|english "
                        r"okkhore|english letters?", re.IGNORECASE)
"""Romanised Bangla ("Banglish"), named with either of the others' words ("Bangla in English
letters"), so it is asked about first."""


def takes_over(heard: Understanding | None, events) -> bool:
    return (heard is not None and heard.intent in TAKE_OVER and bool(events)
            and isinstance(events[0], InputRejected))


def respond(turn, heard: Understanding) -> None:
    """Answer `heard` for the person of `turn` (bot.msgs.turn.Turn)."""
    intent = heard.intent
    if intent in ("question", "call_me"):
        questions.store(turn.db, turn.person, turn.msg, turn.msg.body, intent, heard.confidence,
                        turn.now)
        turn.say(QUESTION_SAVED if intent == "question" else CALL_SAVED)
    elif intent == "opt_out":
        turn.say(CONFIRM_STOP)
    elif intent == "opt_in":
        turn.say(ALREADY_ON)  # opted-out people never reach NLU: only START brings them back
    elif intent == "help":
        turn.say(outbox.HELP)
    elif intent == "menu":
        turn.say(MENU)
    elif intent == "greet":
        turn.say(GREET)
    elif intent == "thanks":
        turn.say(THANKS)
    elif intent == "repeat":
        _repeat(turn)
    elif intent == "set_language":
        _set_language(turn)
    elif intent in ("affirm", "deny", "snooze"):
        turn.say(GOT_IT)  # nothing is waiting for a yes, a no or a later
    else:
        turn.say(DIDNT_UNDERSTAND)


def language_named(text: str) -> str | None:
    if _ROMANISED.search(text or ""):
        return "bn-Latn"
    found = {code for code, pattern in _LANGUAGE_WORDS if pattern.search(text or "")}
    return found.pop() if len(found) == 1 else None


def _set_language(turn) -> None:
    language = language_named(turn.msg.body)
    if language is None:
        turn.say(ASK_LANGUAGE)
        return
    turn.person.language = language
    turn.say(LANGUAGE_SET, language=language)


def _repeat(turn) -> None:
    """Send again, as it was written, the last message with content: a flow's question, an
    activity, help; not one of this module's own acknowledgements ("thank you too")."""
    last = turn.db.execute(select(Message).where(
        Message.person_id == turn.person.id, Message.direction == "out",
        Message.id.notin_(turn.reply_ids() or [0]),
        Message.key.isnot(None), Message.key.notlike("nlu.%"))
        .order_by(Message.id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        turn.say(NOTHING_TO_REPEAT)
        return
    turn.replies.append(outbox.queue_text(
        turn.db, person=turn.person, address=turn.address, channel=turn.channel,
        key=last.key, body=last.body, now=turn.now))
