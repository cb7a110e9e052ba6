"""Prompts and what comes next, as TwiML: a pure function, the one place calls become XML.

    render([Speech, ...], Gather(...) | Record(...) | Hangup() | Redirect(...) | Reject())

What is said before a question is said first; the question itself is nested in the <Gather>,
so a keypress or an answer may cut it short (but not the summary before it). A <Gather> posts
to its action even on silence (actionOnEmptyResult), so the conversation decides what silence
means. A <Record> that hears nothing does not post; the <Redirect> after it says so instead.
"""
from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from .prompts import HEAR_LANGUAGE, SAY_LANGUAGE, Speech

GATHER_TIMEOUT = 6  # seconds of silence after a question before it counts as unanswered
RECORD_SILENCE = 5  # seconds of silence that end a recording
VOICES = {"bn": "Google.bn-IN-Wavenet-A", "en": "Google.en-IN-Wavenet-A"}
"""Default text-to-speech voices (SATHI_VOICE_BN, SATHI_VOICE_EN override them): Google's
WaveNet voices, which Twilio offers for bn-IN and en-IN; Amazon Polly has no Bangla voice."""


@dataclass(frozen=True)
class Gather:
    action: str
    language: str  # "bn" | "en"
    hints: str = ""  # words speech recognition should expect


@dataclass(frozen=True)
class Record:
    action: str
    max_length: int  # seconds
    empty: str  # where to go when nothing was recorded


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Redirect:
    url: str
    pause: int = 0  # seconds of silence first (a turn that must wait for the person's lock)


@dataclass(frozen=True)
class Reject:
    reason: str = "busy"  # a busy tone: the caller is not charged and waits for our call back


Next = Gather | Record | Hangup | Redirect | Reject


def _speak(verb, s: Speech, voices: dict[str, str]) -> None:
    if s.url:
        verb.play(s.url)
    else:
        verb.say(s.text, voice=voices[s.language], language=SAY_LANGUAGE[s.language])


def render(said: list[Speech], then: Next, voices: dict[str, str] | None = None) -> str:
    voices = voices or VOICES
    r = VoiceResponse()
    if isinstance(then, Reject):
        r.reject(reason=then.reason)
        return str(r)
    nested = said[-1:] if isinstance(then, Gather) else []
    for s in said[:len(said) - len(nested)]:
        _speak(r, s, voices)
    if isinstance(then, Gather):
        g = r.gather(input="dtmf speech", action=then.action, method="POST", num_digits=1,
                     finish_on_key="", timeout=GATHER_TIMEOUT, speech_timeout="auto",
                     language=HEAR_LANGUAGE[then.language], hints=then.hints or None,
                     action_on_empty_result=True)
        for s in nested:
            _speak(g, s, voices)
    elif isinstance(then, Record):
        r.record(action=then.action, method="POST", max_length=then.max_length,
                 finish_on_key="#", play_beep=True, timeout=RECORD_SILENCE)
        r.redirect(then.empty, method="POST")
    elif isinstance(then, Redirect):
        if then.pause:
            r.pause(length=then.pause)
        r.redirect(then.url, method="POST")
    else:
        r.hangup()
    return str(r)
