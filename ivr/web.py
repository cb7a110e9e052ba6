"""The voice webhooks (a blueprint): every request signed by Twilio, or 403 with nothing kept.

    POST /twilio/voice          a call we placed is answered (?call=&attempt=): its flow speaks;
                                a call to us (no ?call=): a missed call, rejected, called back
    POST /twilio/voice/gather   a key, words or silence after a question (?call=&step=)
    POST /twilio/voice/record   a recorded message, or none (?call=&step=[&empty=1])
    POST /twilio/voice/status   a call's status callback (?call=&attempt=)
    POST /twilio/voice/amd      answering machine detection's verdict (?call=&attempt=)
    GET  /ivr/prompts/<lang>/<key>.mp3   a recorded prompt, for Twilio's <Play>

A call's turn is answered inline, well within Twilio's 15 s: the engine, the database and
Redis, no other network. TwiML answers are text/xml; callbacks get 204.
"""
from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, request, send_from_directory
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot import runtime
from bot.web import verified_form

from . import callback, conversation, dialer, urls
from .prompts import AUDIO_DIR, TROUBLE, prompts_of
from .twiml import Hangup, Redirect, Reject, render

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__)
_KEY = re.compile(r"^[a-z][a-z0-9_.]*$")
BUSY_PAUSE = 1  # seconds Twilio waits before asking again when the person's turn is taken


def _xml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")


def _number(name: str) -> int:
    value = request.args.get(name, "")
    if not value.isdigit():
        abort(400)
    return int(value)


def _turn(answer) -> Response:
    """A call's turn; when the database or Redis fails, the caller hears an apology, not
    Twilio's "application error" (the try then counts as not reached, and is tried again)."""
    language = "bn"
    try:
        return _xml(answer())
    except conversation.Busy:
        return _again()
    except conversation.Trouble as e:
        log.exception("a call's turn failed: %s", request.path)
        language = e.language
    except (SQLAlchemyError, RedisError):
        log.exception("a call's turn failed: %s", request.path)
    rt = runtime.current()
    return _xml(render([prompts_of(rt).speech(TROUBLE, language)], Hangup(),
                       conversation.voices(rt)))


def _again() -> Response:
    """The person's turn is taken for a moment (a text being answered): ask again shortly."""
    url = runtime.current().settings.public_base_url + request.full_path.rstrip("?")
    return _xml(render([], Redirect(url, pause=BUSY_PAUSE)))


@bp.post(urls.VOICE)
def voice():
    form = verified_form()
    if "call" in request.args:
        call_id = _number("call")
        return _turn(lambda: conversation.answer(call_id, form))
    if not form.get("CallSid") or not form.get("From"):
        abort(400)
    try:
        back = callback.missed(form)
    except SQLAlchemyError:  # still rejected, so the caller pays nothing; called back later
        log.exception("a missed call could not be recorded; kept for the sweep")
        callback.keep(form)
        back = None
    if back is not None:
        dialer.claim_now(back)  # within the minute; if Redis is down, cron takes it
    return _xml(render([], Reject()))


@bp.post(urls.GATHER)
def gather():
    form = verified_form()
    call_id, step = _number("call"), _number("step")
    return _turn(lambda: conversation.gather(call_id, step, form))


@bp.post(urls.RECORD)
def record():
    form = verified_form()
    call_id, step = _number("call"), _number("step")
    empty = request.args.get("empty") == "1"
    return _turn(lambda: conversation.record(call_id, step, form, empty))


@bp.post(urls.STATUS)
def status():
    form = verified_form()
    if not form.get("CallStatus"):
        abort(400)
    if not dialer.on_status(_number("call"), _number("attempt"), form):
        log.info("status %s for an unknown call", form.get("CallStatus"))
    return "", 204


@bp.post(urls.AMD)
def amd():
    form = verified_form()
    if not form.get("AnsweredBy"):
        abort(400)
    dialer.on_amd(_number("call"), _number("attempt"), form)
    return "", 204


@bp.get(urls.PROMPTS + "/<language>/<key>.mp3")
def prompt_audio(language: str, key: str):
    if language not in ("bn", "en") or not _KEY.match(key):
        abort(404)
    return send_from_directory(AUDIO_DIR / language, f"{key}.mp3", mimetype="audio/mpeg")
