"""The messaging webhooks: verify, check, record (or spool), enqueue, answer. Nothing slower.

Twilio's (signed with X-Twilio-Signature) and the local gateways' of the channels file
(/sms/<name>/receive and /sms/<name>/status, with the channel's token or HMAC) are read here;
everything after that is shared by every channel's webhook:
intake.py checks and cleans the fields, spool.take records the item or keeps it on disk when
storage is down. A webhook answers 2xx or 4xx, never 5xx: 403 for a bad signature, 400 for a
form that cannot be cleaned into shape, 200/204 for everything recorded, spooled or set aside.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from flask import Blueprint, Response, abort, current_app, jsonify, request
from twilio.twiml.messaging_response import MessagingResponse

from . import metrics, runtime
from .channels import gateway_webhook, signature
from .msgs import intake, outbox, spool
from .store.db import BEHIND, DOWN, UNKNOWN

log = logging.getLogger(__name__)
bp = Blueprint("messaging", __name__)

MAX_REQUEST_BYTES = 256 * 1024  # a Twilio form is a few KB (a body of 1,600 characters and
# ten media URLs); anything far bigger is refused (413) before it is read


@bp.before_app_request
def _start_replayer() -> None:
    """The web process replays its own spool (D9): started with the first request, in each
    process (gunicorn forks its workers after the app is made)."""
    if spool.replayer_started():  # every request after the first: nothing to look up
        return
    if current_app.config.get("SPOOL_REPLAYER", not current_app.testing):
        spool.ensure_replayer()


def verified_form():
    """The POSTed form, or 403 when Twilio's signature does not match (nothing is recorded:
    this runs before anything else; the voice webhooks in ivr/ use it too)."""
    rt = runtime.current()
    # Twilio percent-encodes its URL: bytes that are no UTF-8 come from someone else, and are
    # refused by the signature (403), not by the decoding (500)
    query = request.query_string.decode("utf-8", "replace")
    path = request.path + (f"?{query}" if query else "")
    url = signature.signed_url(rt.settings.public_base_url, path)
    if not signature.valid(rt.settings.twilio_auth_token, url, request.form,
                           request.headers.get("X-Twilio-Signature")):
        log.warning("refused %s: bad or missing signature", request.path)
        abort(403)
    return request.form


_EMPTY_TWIML = str(MessagingResponse()).encode()  # the answer to every message: no reply in
# the HTTP response (replies go out through the API, from a worker); made once, not per request


def _twiml() -> Response:
    # the header mimetype="text/xml" makes, given whole: Flask need not work it out each time
    return Response(_EMPTY_TWIML, content_type="text/xml; charset=utf-8")


def _media(form) -> tuple:
    try:
        n = int(form.get("NumMedia") or 0)
    except ValueError:
        n = 0
    n = max(0, min(n, intake.MAX_MEDIA))
    return intake.media([(form.get(f"MediaUrl{i}"), form.get(f"MediaContentType{i}"))
                         for i in range(n)])


def _rejected(what: str, why: intake.Rejected, **labels):
    log.warning("refused %s: %s", what, why)
    metrics.record(runtime.current().redis, lambda p: metrics.count(p, **labels))
    abort(400)


@bp.post("/twilio/messaging")
def messaging():
    form = verified_form()
    rt = runtime.current()
    try:
        inc = intake.incoming(sid=form.get("MessageSid"), sender_address=form.get("From"),
                              body=form.get("Body"), received_at=rt.now(),
                              media_items=_media(form))
    except intake.Rejected as why:
        _rejected("a message", why, name="sathi_messages_in", channel="unknown",
                  status="rejected")
    spool.take(inc)
    return _twiml()


@bp.post("/twilio/messaging/status")
def messaging_status():
    form = verified_form()
    rt = runtime.current()
    try:
        report = intake.status_report(sid=form.get("MessageSid"),
                                      status=form.get("MessageStatus"),
                                      code=form.get("ErrorCode"), received_at=rt.now())
    except intake.Rejected as why:
        _rejected("a status callback", why, name="sathi_status_callbacks", status="rejected")
    spool.take(report)
    return "", 204


def _gateway(name: str):
    """The named channel of the channels file, once its request is verified (else 403). The
    body was capped by MAX_REQUEST_BYTES before it is read (413)."""
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
    """A message from a local gateway (RapidPro's External API channel, configured): checked,
    cleaned and recorded (or spooled) exactly as Twilio's."""
    gw, body = _gateway(name)
    rt = runtime.current()
    try:
        got = gateway_webhook.incoming(gw, body, request.content_type, rt.now())
    except gateway_webhook.Malformed as e:
        log.warning("refused %s: %s", request.path, e)
        abort(400)
    if got is not None:
        try:
            inc = intake.incoming(sid=got.sid, sender_address=got.sender, body=got.text,
                                  received_at=rt.now())
        except intake.Rejected as why:
            _rejected("a gateway message", why, name="sathi_messages_in", channel=gw.name,
                      status="rejected")
        spool.take(replace(inc, channel="sms", provider=gw.name))
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
    sid, ref = got.sid, None
    if sid is None:  # a report by our own id: resolved when it is applied (or replayed)
        if not (got.ref.isascii() and got.ref.isdigit() and int(got.ref) < 2 ** 31):
            log.info("status %s for unknown message on %s", got.status, gw.name)
            return jsonify(ok=True)
        ref = int(got.ref)
        sid = outbox.ref_sid(gw.name, ref)
    try:
        report = intake.status_report(sid=sid, status=got.status,
                                      code=None if got.error_code is None else str(got.error_code),
                                      received_at=rt.now(), ref=ref)
    except intake.Rejected as why:
        _rejected("a gateway status", why, name="sathi_status_callbacks", status="rejected")
    spool.take(report)
    return jsonify(ok=True)


@bp.get("/healthz")
def healthz():
    rt = runtime.current()
    schema = rt.db.schema()
    # "behind": this code's tables may not be there yet (`sathi db upgrade`); "newer": a later
    # release migrated the database, and this one still runs on it (a rolling deploy);
    # "unknown": the revision could not be read (the database is down, or see Database.schema)
    checks = {"database": "down" if schema == DOWN else "ok",
              "schema": UNKNOWN if schema == DOWN else schema}
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
    checks["spool"] = spool.size()
    checks["gateways"] = sorted(rt.gateways)  # SMS channels of the channels file
    healthy = (checks["database"] == "ok" and checks["redis"] == "ok"
               and schema != BEHIND)
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503


@bp.get("/metrics")
def prometheus_metrics():
    """The service's counters (from Redis: the same on every web host) and gauges read now
    (queues, the outbox, this host's spool, which NLU answers), in Prometheus's text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(runtime.current()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Collector:
    def __init__(self, rt: runtime.Runtime):
        self.rt = rt

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        rt = self.rt
        up = GaugeMetricFamily("sathi_up", "1 when the part answers, 0 when it does not",
                               labels=["part"])
        try:
            yield from metrics.families(rt.redis)
            queues = GaugeMetricFamily("sathi_queue_jobs", "RQ jobs by queue and state",
                                       labels=["queue", "state"])
            from rq.registry import ScheduledJobRegistry, StartedJobRegistry

            for name in runtime.QUEUES:
                q = rt.queue(name)
                queues.add_metric([name, "waiting"], q.count)
                queues.add_metric([name, "scheduled"], ScheduledJobRegistry(queue=q).count)
                queues.add_metric([name, "started"], StartedJobRegistry(queue=q).count)
                queues.add_metric([name, "failed"], q.failed_job_registry.count)
            yield queues
            up.add_metric(["redis"], 1)
        except Exception:
            up.add_metric(["redis"], 0)
        try:
            from sqlalchemy import func, select

            from .store.models import Message

            with rt.db.session(deadline=2.0) as db:
                rows = db.execute(select(Message.status, func.count(Message.id)).where(
                    Message.direction == "out", Message.status.in_(("queued", "sending")))
                    .group_by(Message.status)).all()
            pending = GaugeMetricFamily("sathi_outbox_pending",
                                        "Replies not yet settled: queued, or sending",
                                        labels=["status"])
            counts = dict(rows)
            for status in ("queued", "sending"):
                pending.add_metric([status], counts.get(status, 0))
            yield pending
            up.add_metric(["database"], 1)
        except Exception:
            up.add_metric(["database"], 0)
        files = GaugeMetricFamily("sathi_spool_files",
                                  "Items in this web host's spool: pending (waiting for the "
                                  "database) or dead (set aside for a human)", labels=["state"])
        for state, n in spool.size().items():
            files.add_metric([state], n)
        yield files
        from . import nlu

        client = nlu.client(rt)
        backend = GaugeMetricFamily("sathi_nlu_backend", "The NLU backend that answers free "
                                    "text now (1)", labels=["backend"])
        backend.add_metric([client.backend()], 1)
        yield backend
        if client.breaker is not None:
            yield GaugeMetricFamily("sathi_nlu_breaker_open", "1 while Rasa is being skipped",
                                    value=1 if client.breaker.state() == "open" else 0)
        yield up
