"""What a call says for a message key: a recorded Bangla prompt, or speech from the catalogue.

A key said on a call is played from `ivr/prompts/bn/<key>.mp3` when a voice artist recorded it
(and the text has no {placeholder}: a recording cannot say a name or a count), and is spoken by
Twilio's text-to-speech from the same catalogue text otherwise: a Bangla voice for Bangla and
romanised-Bangla speakers, an English one for English speakers. Recordings are served by the app
at /ivr/prompts/bn/<key>.mp3, or from SATHI_PROMPTS_URL (a copy of ivr/prompts/ elsewhere).

Voice text is written for the ear: where a message's SMS text would read badly aloud ("১ লিখুন",
"=", "(…)"), the flow names a voice variant (`say: {default: k, voice: k_voice}`), and every
value filled in is made speakable (speech.py: numbers as Bangla words).

The keys ivr/ says itself are here, one place, with a comment each.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

from bot.flows.definition import Flow, message_keys
from bot.i18n import N_, Catalogues

from .speech import spoken_value, voice_language
from .urls import prompts_base

AUDIO_DIR = Path(__file__).resolve().parent / "prompts"  # <language>/<key>.mp3
AUDIO_LANGUAGES = ("bn",)  # recorded prompts exist for Bangla only; English is always speech
SAY_LANGUAGE = {"bn": "bn-IN", "en": "en-IN"}  # <Say language>: Twilio has no bn-BD voice
HEAR_LANGUAGE = {"bn": "bn-BD", "en": "en-IN"}  # <Gather language>: speech recognition
WORDS_PER_SECOND = 2.0  # an unhurried text-to-speech pace, for the recording script's estimate
PAUSE_SECONDS = 0.4  # added per sentence to that estimate

GREETING = N_("ivr.greeting")  # the first words of every call we place
RESUME = N_("ivr.resume")  # the next try of a call that was cut off, before its question
HELP = N_("ivr.help")  # "0" (or "help"): how to answer, repeat and stop
DIDNT_HEAR = N_("ivr.didnt_hear")  # the first silence after a question: it is asked again
DIDNT_UNDERSTAND = N_("ivr.didnt_understand")  # an answer the question does not take
GOODBYE = N_("ivr.goodbye")  # a call that ends without its flow's own last words
STOPPED = N_("ivr.stopped")  # "বন্ধ" said on a call: no more calls or messages
NOT_NOW = N_("ivr.not_now")  # a call whose campaign has nothing to say after all
VOICEMAIL = N_("ivr.voicemail")  # left on an answering machine (SATHI_VOICEMAIL=message)
TROUBLE = N_("ivr.trouble")  # the database or Redis failed during a call's turn
IVR_KEYS = (GREETING, RESUME, HELP, DIDNT_HEAR, DIDNT_UNDERSTAND, GOODBYE, STOPPED, NOT_NOW,
            VOICEMAIL, TROUBLE)
VOICE_KEYS = {"common.didnt_understand": DIDNT_UNDERSTAND}
"""Keys the engine says on its own (an unmatched answer with no `otherwise.say`), as a call
says them instead."""


@dataclass(frozen=True)
class Speech:
    """One prompt of a call: a recording to <Play>, or text to <Say>."""

    key: str | None
    text: str  # what is said (or what the recording says), for logs and transcripts
    language: str  # "bn" | "en"
    url: str | None = None  # a recording; None: text-to-speech


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


class Prompts:
    def __init__(self, catalogues: Catalogues, media_base_url: str, audio_dir: Path = AUDIO_DIR):
        self.catalogues = catalogues
        self.media_base_url = media_base_url.rstrip("/")
        self.audio_dir = Path(audio_dir)

    def audio_path(self, key: str, language: str = "bn") -> Path:
        return self.audio_dir / language / f"{key}.mp3"

    def recordable(self, key: str, language: str = "bn") -> bool:
        template = self.catalogues.template(key, language)
        return template is not None and not placeholders(template)

    def has_audio(self, key: str, language: str = "bn") -> bool:
        """A recording of the key's text: never for a text edited in the console since (the
        recording says the old words; speech says the new ones)."""
        return (language in AUDIO_LANGUAGES and self.recordable(key, language)
                and (key, language) not in self.catalogues.overrides
                and self.audio_path(key, language).is_file())

    def speech(self, key: str, language: str, params: dict | None = None) -> Speech:
        """`key` in the person's language, as a call says it."""
        lang = voice_language(language)
        spoken = {name: spoken_value(value, lang) for name, value in (params or {}).items()}
        text = self.catalogues.text(key, lang, **spoken)
        url = f"{self.media_base_url}/{lang}/{key}.mp3" if self.has_audio(key, lang) else None
        return Speech(key=key, text=text, language=lang, url=url)

    def text(self, text: str, language: str) -> Speech:
        """Words that are not a catalogue key (a teacher's question, a digest), spoken."""
        return Speech(key=None, text=text, language=voice_language(language))


def voice_keys(flows: dict[str, Flow]) -> list[str]:
    """Every key a call can say: those of the flows that run on voice, as said on voice (the
    voice variant where one is named), and ivr's own."""
    keys = set(IVR_KEYS)
    for flow in flows.values():
        if flow.runs_on("voice"):
            keys.update(VOICE_KEYS.get(k, k) for k in message_keys(flow, "voice"))
    return sorted(keys)


def estimate_seconds(text: str) -> float:
    """How long text-to-speech (or a voice artist) takes to say `text`, roughly."""
    words = len(text.split())
    sentences = max(1, len(re.findall(r"[।.?!]", text)))
    return round(words / WORDS_PER_SECOND + sentences * PAUSE_SECONDS, 1)


def script(prompts: Prompts, flows: dict[str, Flow]) -> str:
    """The recording script for a voice artist, as CSV: every recordable voice key with its
    Bangla text and its estimated length, and whether it is recorded already."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["key", "bangla", "seconds", "recorded"])
    for key in voice_keys(flows):
        if prompts.recordable(key, "bn"):
            text = prompts.catalogues.text(key, "bn")
            w.writerow([key, text, estimate_seconds(text),
                        "yes" if prompts.has_audio(key, "bn") else "no"])
    return out.getvalue()


def missing(prompts: Prompts, flows: dict[str, Flow]) -> tuple[list[str], list[str]]:
    """(recordable keys without a recording, keys that are always spoken: they name a value)."""
    keys = voice_keys(flows)
    return ([k for k in keys if prompts.recordable(k, "bn") and not prompts.has_audio(k, "bn")],
            [k for k in keys if not prompts.recordable(k, "bn")])


def prompts_of(rt) -> Prompts:
    """The prompts of a running service (its catalogues; recordings where it serves them)."""
    return Prompts(rt.catalogues, prompts_base(rt))
