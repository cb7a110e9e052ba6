"""The messaging webhooks: verify, dedupe, record, enqueue, answer. Nothing slower."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from twilio.twiml.messaging_response import MessagingResponse

from . import runtime
from .channels import signature
from .contacts.phones import InvalidPhone, e164
from .msgs import inbound, outbox, spool

log = logging.getLogger(__name__)
bp = Blueprint("messaging", __name__)


def verified_form():
    """The POSTed form, or 403 when Twilio's signature does not match (nothing is recorded:
    this runs before anything else; the voice webhooks in ivr/ use it too)."""
    rt = runtime.current()
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    url = signature.signed_url(rt.settings.public_base_url, path)
    if not signature.valid(rt.settings.twilio_auth_token, url, request.form,
                           request.headers.get("X-Twilio-Signature")):
        log.warning("refused %s: bad or missing signature", request.path)
        abort(403)
    return request.form


def _twiml() -> Response:
    return Response(str(MessagingResponse()), mimetype="text/xml")


@bp.post("/twilio/messaging")
def messaging():
    form = verified_form()
    sid, sender, body = form.get("MessageSid"), form.get("From", ""), form.get("Body", "")
    if not sid or not sender:
        abort(400)
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    try:
        sender = e164(sender)
    except InvalidPhone:
        sender = sender.removeprefix("whatsapp:")  # recorded as given; no person will match
    inc = inbound.Incoming(sid=sid, channel=channel, sender=sender, body=body)
    try:
        inbound.accept(inc)
    except SQLAlchemyError:
        spool.write(inc)  # recorded on local disk; replayed when the database is back
    return _twiml()


@bp.post("/twilio/messaging/status")
def messaging_status():
    form = verified_form()
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        abort(400)
    code = form.get("ErrorCode")
    rt = runtime.current()
    with rt.db.session() as db:
        known = outbox.record_status(db, sid, status, int(code) if code else None, rt.now())
    if not known:
        log.info("status %s for unknown message %s", status, sid)
    return "", 204


@bp.get("/healthz")
def healthz():
    rt = runtime.current()
    checks = {"database": "ok" if rt.db.healthy() else "down"}
    try:
        rt.redis.ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "down"
    from . import nlu

    nlu_client = nlu.client(rt)
    checks["nlu"] = nlu_client.backend()  # "rasa" | "embedded"
    if nlu_client.breaker is not None:  # only when RASA_URL is set
        checks["nlu_breaker"] = nlu_client.breaker.state()  # "open": Rasa is being skipped
    checks["outbound"] = "twilio" if rt.settings.twilio_enabled else "local outbox"
    healthy = checks["database"] == "ok" and checks["redis"] == "ok"
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
