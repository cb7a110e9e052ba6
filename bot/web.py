"""The messaging webhooks: verify, dedupe, record, enqueue, answer. Nothing slower.

Twilio's (signed with X-Twilio-Signature) and the local gateways' of the channels file
(/sms/<name>/receive and /sms/<name>/status, with the channel's token or HMAC) take the same
path: `_take` records and enqueues, or spools while the database is down."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from twilio.twiml.messaging_response import MessagingResponse

from . import runtime
from .channels import gateway_webhook, signature
from .contacts.phones import InvalidPhone, e164
from .msgs import inbound, outbox, spool
from .store.models import Message

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
    _take(inbound.Incoming(sid=sid, channel=channel, sender=sender, body=body))
    return _twiml()


def _take(inc: inbound.Incoming) -> None:
    """Every messaging webhook's one job: record (once per provider sid) and enqueue; with the
    database down, spool it to local disk, replayed when the database is back."""
    try:
        inbound.accept(inc)
    except SQLAlchemyError:
        spool.write(inc)


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


def _gateway(name: str):
    """The named channel of the channels file, once its request is verified (else 403)."""
    rt = runtime.current()
    gw = rt.gateways.get(name)
    if gw is None:
        abort(404)
    body = request.get_data(cache=True)
    if not gateway_webhook.verified(gw.receive, body, request.args, request.headers,
                                    rt.now().timestamp()):
        log.warning("refused %s: bad or missing token or signature", request.path)
        abort(403)
    return gw, body


@bp.post("/sms/<name>/receive")
def gateway_receive(name: str):
    """A message from a local gateway (RapidPro's External API channel, configured)."""
    gw, body = _gateway(name)
    try:
        got = gateway_webhook.incoming(gw, body, request.content_type, runtime.current().now())
    except gateway_webhook.Malformed as e:
        log.warning("refused %s: %s", request.path, e)
        abort(400)
    if got is not None:
        try:
            sender = e164(got.sender)
        except InvalidPhone:
            sender = got.sender[:40]  # recorded as given; no person will match
        _take(inbound.Incoming(sid=got.sid, channel="sms", sender=sender, body=got.text,
                               provider=gw.name))
    return jsonify(ok=True)


@bp.post("/sms/<name>/status")
def gateway_status(name: str):
    """A delivery report from a local gateway: the same statuses, retries and fallbacks."""
    gw, body = _gateway(name)
    if gw.status is None:
        abort(404)
    try:
        got = gateway_webhook.report(gw, body, request.content_type)
    except gateway_webhook.Malformed as e:
        log.warning("refused %s: %s", request.path, e)
        abort(400)
    if got is None:
        return jsonify(ok=True)
    rt = runtime.current()
    with rt.db.session() as db:
        sid = got.sid
        if sid is None and got.ref.isdigit() and int(got.ref) < 2 ** 31:  # by our own id
            sid = db.execute(select(Message.provider_sid).where(
                Message.id == int(got.ref), Message.direction == "out",
                Message.provider == gw.name)).scalar()
        known = sid is not None and outbox.record_status(db, sid, got.status, got.error_code,
                                                         rt.now())
    if not known:
        log.info("status %s for unknown message on %s", got.status, gw.name)
    return jsonify(ok=True)


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
    checks["gateways"] = sorted(rt.gateways)  # SMS channels of the channels file
    healthy = checks["database"] == "ok" and checks["redis"] == "ok"
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
