"""Local HTTP doubles of the SMS gateways in channels/*.yaml, each answering as its API is
documented to answer (the configuration files cite the pages and say what is not documented).

    with AdnDouble() as adn:                 # ADN SMS:   POST /api/v1/secure/send-sms
        adn.fail_next("unknown")             # 5001 UNKNOWN_ERROR, once
        ...; adn.sent()[0]["text"]
    BulkSmsBdDouble()                        # BulkSMSBD: GET/POST /api/smsapi
    SmsGateDouble()                          # SMS Gateway for Android: POST /3rdparty/v1/messages,
                                             # and the webhooks the phone would send (signed)
    ExampleDouble()                          # the made-up gateway of channels/example.yaml

Every double records each request; `sent()` lists what it accepted, as
{"to", "text", "encoding", "id"} in the API's own terms. `fail_next(kind, times)` scripts the
next answers; `delay_next(seconds)` accepts the next message but answers late (a provider that
times out after accepting).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import phonenumbers
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DHAKA = timezone(timedelta(hours=6))
_BD_MOBILE = re.compile(r"^(?:\+?88)?01[3-9]\d{8}$")  # 01XXXXXXXXX, 8801XXXXXXXXX, +8801...


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    form: dict
    json: object
    headers: dict
    status: int
    time: float


class _Quiet(WSGIRequestHandler):
    def log(self, *args) -> None:
        pass


class GatewayDouble:
    """A gateway's HTTP API on 127.0.0.1: the base of the doubles below."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self._accepted: list[dict] = []
        self._script: deque[str] = deque()
        self._delays: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = self._thread = None
        self.on_accept = None  # called with how many it has accepted, before it answers

    def start(self):
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True,
                                   request_handler=_Quiet)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self._lock:
            self._script.extend([kind] * times)

    def delay_next(self, seconds: float) -> None:
        """Accept the next message but answer only after `seconds`."""
        with self._lock:
            self._delays.append(seconds)

    def sent(self) -> list[dict]:
        with self._lock:
            return list(self._accepted)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._accepted.clear()
            self._script.clear()

    def _scripted(self) -> str | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _accept(self, message: dict) -> None:
        with self._lock:
            self._accepted.append(message)
            count = len(self._accepted)
            delay = self._delays.popleft() if self._delays else 0.0
        if self.on_accept is not None:  # a test's hook: it may hold the answer
            self.on_accept(count)
        if delay:
            time.sleep(delay)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data(cache=True)
        try:
            body_json = json.loads(raw) if "json" in (request.content_type or "") else None
        except ValueError:
            body_json = None
        form = {**request.args.to_dict(), **request.form.to_dict()}
        status, payload = self.handle(request, form, body_json)
        with self._lock:
            self.requests.append(Recorded(request.method, request.path, form, body_json,
                                          dict(request.headers), status, time.time()))
        response = Response(json.dumps(payload, ensure_ascii=False), status=status,
                            mimetype="application/json")
        return response(environ, start_response)

    def handle(self, request: Request, form: dict, body: object) -> tuple[int, object]:
        raise NotImplementedError


class AdnDouble(GatewayDouble):
    """ADN SMS API v1.0 (portal.adnsms.com/client/api/documentation): send-sms, single SMS.

    The documented error body carries "api_response_code": 400; the HTTP status of such an
    answer is not documented, so `error_status` chooses it (200 or 400)."""

    API_KEY, API_SECRET = "adn-test-key", "adn-test-secret"
    CODES = {2001: "INVALID_NUMBER", 2003: "INVALID_PARAMETER", 2005: "INVALID_MESSAGE_TYPE",
             3001: "INVALID_CREDENTIAL", 4005: "INSUFFICIENT_BALANCE", 5001: "UNKNOWN_ERROR"}
    SCRIPTED = {"unknown": 5001, "balance": 4005, "invalid_number": 2001}

    def __init__(self, error_status: int = 200):
        super().__init__()
        self.error_status = error_status

    def _error(self, request_type, code: int):
        return self.error_status, {"request_type": request_type, "api_response_code": 400,
                                   "api_response_message": "FAILED",
                                   "error": {"error_code": code, "error_message": self.CODES[code]}}

    def handle(self, request, form, body):
        if request.method != "POST" or request.path != "/api/v1/secure/send-sms":
            return 404, {"message": "Not Found"}
        rtype = form.get("request_type")
        if form.get("api_key") != self.API_KEY or form.get("api_secret") != self.API_SECRET:
            return self._error(rtype, 3001)
        if not all(form.get(k) for k in ("request_type", "message_type", "mobile", "message_body")):
            return self._error(rtype, 2003)
        if form["message_type"] not in ("TEXT", "UNICODE"):
            return self._error(rtype, 2005)
        if not _BD_MOBILE.match(form["mobile"]):
            return self._error(rtype, 2001)
        scripted = self._scripted()
        if scripted:
            return self._error(rtype, self.SCRIPTED[scripted])
        sms_uid = "S" + secrets.token_hex(8).upper()
        self._accept({"to": form["mobile"], "text": form["message_body"],
                      "encoding": form["message_type"], "id": sms_uid})
        return 200, {"request_type": rtype, "campaign_uid": "C" + secrets.token_hex(8).upper(),
                     "sms_uid": sms_uid, "invalid_numbers": [], "api_response_code": 200,
                     "api_response_message": "SUCCESS"}


class BulkSmsBdDouble(GatewayDouble):
    """BulkSMSBD (bulksmsbd.com/bulksms-api-bangladesh.php): /api/smsapi. The page lists the
    codes; the JSON shape and the codes for a bad number and a wrong key are what its clients
    see (channels/bulksmsbd.yaml says which is which)."""

    API_KEY, SENDER_ID = "bulksmsbd-test-key", "8809601000000"
    MESSAGES = {1001: "Invalid Number", 1002: "sender id not correct/sender id is disabled",
                1003: "Please Required all fields/Contact Your System Administrator",
                1005: "Internal Error", 1007: "Balance Insufficient", 1011: "User Id not found"}
    SCRIPTED = {"internal": 1005, "balance": 1007, "invalid_number": 1001}

    def __init__(self):
        super().__init__()
        self._next_id = 13145326

    def _error(self, code: int):
        return 200, {"response_code": code, "error_message": self.MESSAGES[code]}

    def handle(self, request, form, body):
        if request.path != "/api/smsapi" or request.method not in ("GET", "POST"):
            return 404, {"error_message": "Not Found"}
        if not all(form.get(k) for k in ("api_key", "number", "senderid", "message")):
            return self._error(1003)
        if form["api_key"] != self.API_KEY:
            return self._error(1011)
        if form["senderid"] != self.SENDER_ID:
            return self._error(1002)
        if not all(re.fullmatch(r"8801[3-9]\d{8}", n) for n in form["number"].split(",")):
            return self._error(1001)
        scripted = self._scripted()
        if scripted:
            return self._error(self.SCRIPTED[scripted])
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
        self._accept({"to": form["number"], "text": form["message"],
                      "encoding": form.get("type", "text"), "id": message_id})
        return 200, {"response_code": 202, "message_id": message_id,
                     "success_message": "SMS Submitted Successfully", "error_message": ""}


class SmsGateDouble(GatewayDouble):
    """SMS Gateway for Android's cloud API (OpenAPI: capcom6/android-sms-gateway
    docs/api/swagger.json; server: android-sms-gateway/server, handlers/messages/3rdparty.go):
    POST /messages (our "id" kept, the same id again 409), GET /messages/{id} (200 or 404), and
    the signed webhooks its phone sends (docs: features/webhooks)."""

    USER, PASSWORD = "SMSGATEUSER", "smsgate-test-password"
    SIGNING_KEY = "smsgate-test-signing-key"
    BASE = "/3rdparty/v1"

    def handle(self, request, form, body):
        auth = request.authorization
        prefix = f"{self.BASE}/messages/"
        if request.method == "GET" and request.path.startswith(prefix):  # a message's state
            if auth is None or auth.username != self.USER or auth.password != self.PASSWORD:
                return 401, {"message": "Unauthorized"}
            found = [m for m in self.sent() if m["id"] == request.path[len(prefix):]]
            if not found:
                return 404, {"message": "message not found"}
            return 200, {"id": found[0]["id"], "state": "Sent",
                         "recipients": [{"phoneNumber": found[0]["to"], "state": "Sent"}]}
        if request.method != "POST" or request.path != f"{self.BASE}/messages":
            return 404, {"message": "Not Found"}
        if auth is None or auth.username != self.USER or auth.password != self.PASSWORD:
            return 401, {"message": "Unauthorized"}
        if not isinstance(body, dict) or not isinstance(body.get("phoneNumbers"), list) \
                or not isinstance(body.get("textMessage"), dict) \
                or not isinstance(body["textMessage"].get("text"), str):
            return 400, {"message": "invalid request"}
        for number in body["phoneNumbers"]:
            if not _valid_e164(number):
                return 400, {"message": f"invalid phone number: {number}"}
        if self._scripted() == "queue_full":
            return 503, {"error": "QueueLimitExceeded",
                         "message": "queue limits exceeded: too many pending messages: 100 / 100"}
        message_id = body.get("id") or _nanoid()  # ours when we give one
        if any(m["id"] == message_id for m in self.sent()):
            return 409, {"message": "duplicate id"}
        self._accept({"to": body["phoneNumbers"][0], "text": body["textMessage"]["text"],
                      "encoding": None, "id": message_id})
        return 202, {"id": message_id, "state": "Pending",
                     "recipients": [{"phoneNumber": n, "state": "Pending"}
                                    for n in body["phoneNumbers"]]}

    # the phone's webhooks --------------------------------------------------------------
    def received(self, phone: str, text: str, at: datetime, event_id: str | None = None):
        """(body, headers) of the sms:received webhook for `text` from `phone` at `at`."""
        payload = {"messageId": hashlib.sha1(text.encode()).hexdigest()[:16], "message": text,
                   "phoneNumber": phone, "simNumber": 1,
                   "receivedAt": at.astimezone(DHAKA).isoformat(timespec="milliseconds")}
        return self.webhook("sms:received", payload, at, event_id)

    def report(self, event: str, message_id: str, phone: str, at: datetime,
               reason: str | None = None):
        """(body, headers) of an sms:sent / sms:delivered / sms:failed webhook."""
        stamp = at.astimezone(DHAKA).isoformat(timespec="milliseconds")
        payload = {"messageId": message_id, "phoneNumber": phone, "simNumber": None}
        payload[{"sms:sent": "sentAt", "sms:delivered": "deliveredAt"}.get(event, "failedAt")] = stamp
        if event == "sms:failed":
            payload["reason"] = reason or "RESULT_ERROR_GENERIC_FAILURE"
        return self.webhook(event, payload, at)

    def webhook(self, event: str, payload: dict, at: datetime, event_id: str | None = None,
                key: str | None = None):
        body = json.dumps({"deviceId": "ffffffffceb0b1db0000018e937c815b", "event": event,
                           "id": event_id or _nanoid(), "payload": payload,
                           "webhookId": "wh-" + event.split(":")[1]}).encode()
        stamp = str(int(at.timestamp()))
        signature = hmac.new((key or self.SIGNING_KEY).encode(), body + stamp.encode(),
                             hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Signature": signature,
                      "X-Timestamp": stamp}


class ExampleDouble(GatewayDouble):
    """The made-up gateway of channels/example.yaml: POST /send, form, a Bearer token."""

    TOKEN = "<token>"

    def handle(self, request, form, body):
        if request.method != "POST" or request.path != "/send":
            return 404, {"error": "not found"}
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return 401, {"error": "unauthorized"}
        scripted = self._scripted()
        if scripted == "busy":
            return 503, {"error": "busy"}
        if scripted == "bad_number":
            return 400, {"error": "bad number"}
        self._accept({"to": form.get("to"), "text": form.get("text"), "encoding": None,
                      "id": form.get("id")})
        return 200, {"queued": True}


def _valid_e164(number) -> bool:
    if not isinstance(number, str) or not re.fullmatch(r"\+\d{7,15}", number):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _nanoid(size: int = 21) -> str:
    alphabet = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(size))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
