"""A local HTTP double of Twilio's REST API: Messages (create, list), Calls (create, fetch,
update).

    with TwilioDouble(account_sid="AC" + "0" * 32, auth_token="test-token") as tw:
        client = tw.client()          # or: Client(sid, token); client.api.base_url = tw.url
        tw.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
        tw.close_whatsapp_session("whatsapp:+8801711000002")  # free text now gets 63016
        tw.delay_next(12.0)           # accepted (and listed), but answered 12 s later
        ...
        assert tw.messages()[0]["Body"] == "..."
        client.messages.list(to="+8801711000001", date_sent_after=...)  # what Twilio has

A create the double accepts is "sent" at once: the Messages list (GET, filtered by To, From
and DateSent as Twilio's is, newest first) shows it with status "sent" and a DateSent.
`clock` is the double's own time (a test may freeze it to the service's clock).

A call the double created stays `queued` until a test moves it on with `set_call` (or one of the
callback helpers, which also return the form Twilio would POST): `call_status_params` for the
StatusCallback, `amd_params` for the async AMD callback, `voice_params` for the voice webhook.
A call that has ended refuses an update (21220), as Twilio does.

Resources and error bodies follow twilio-python's own fixtures and Twilio's
legacy error format {"code", "message", "more_info", "status"}, which the
client turns into ``TwilioRestException(status, code)``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.wrappers import Request, Response

try:  # real segment count when the app package is importable
    from bot.channels.segments import count as _count_segments
except ImportError:  # pragma: no cover
    _count_segments = None

API_VERSION = "2010-04-01"
_CREATE = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/(Messages|Calls)\.json$")
_CALL = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Calls/(CA[0-9a-fA-F]{32})\.json$")
_PAGE_KEYS = ("Page", "PageSize", "PageToken")
LIST_PAGE_SIZE = 50  # Twilio's default page size

# (status, code, message) of real Twilio REST errors.
RATE_LIMITED = (429, 20429, "Too Many Requests")
UNSUBSCRIBED = (400, 21610, "Attempt to send to unsubscribed recipient")
INVALID_TO = (400, 21211, "The 'To' number {to} is not a valid phone number.")
OUTSIDE_WINDOW = (
    400,
    63016,
    "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
)
SERVER_ERROR = (500, 20500, "An internal server error has occurred")
# ... of the Calls API
CALL_INVALID_TO = (400, 21217, "Phone number does not appear to be valid")
CALL_UNREACHABLE = (400, 21214, "'To' phone number cannot be reached")
CALL_NOT_PERMITTED = (400, 21215, "Account not authorized to call {to}. Perhaps you need to "
                      "enable some international permissions")
CALL_NOT_IN_PROGRESS = (400, 21220, "Call is not in-progress. Cannot redirect.")
FINAL_CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
UNAVAILABLE = (503, 20503, "Service Unavailable")

# Delivery errors: arrive in status callbacks (ErrorCode), never as REST errors.
UNREACHABLE_HANDSET = 30003
LANDLINE_OR_UNREACHABLE_CARRIER = 30006


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    form: dict
    auth_ok: bool
    response_status: int
    time: float  # time.time() when the request arrived


@dataclass(frozen=True)
class _Delay:
    seconds: float
    create: bool  # False: the request is dropped (never accepted), then answered 500
    to: str | None
    resource: str = "Messages"  # or "Calls"


@dataclass(frozen=True)
class _Failure:
    status: int
    code: int
    message: str
    to: str | None
    resource: str | None


def error_body(status: int, code: int, message: str) -> dict:
    """Twilio's JSON error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _now() -> str:
    return _rfc2822(datetime.now(timezone.utc))  # "Thu, 30 Jul 2015 20:12:31 +0000"


def _rfc2822(when: datetime) -> str:
    return format_datetime(when.astimezone(timezone.utc))  # "Thu, 30 Jul 2015 20:12:31 +0000"


def _date_filter(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value: (its time, whether it was a whole day "YYYY-MM-DD")."""
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc), True
    return datetime.fromisoformat(value.replace("Z", "+00:00")), False


def _form(request: Request) -> dict:
    """Form fields; a repeated field (e.g. MediaUrl) becomes a list."""
    return {k: v[0] if len(v) == 1 else v for k, v in request.form.lists()}


SERVER_THREADS = 32  # requests answered at once (delay_next holds one for its seconds)


class TwilioDouble:
    """Twilio REST double on 127.0.0.1; see module docstring."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[Recorded] = []
        self._failures: deque[_Failure] = deque()
        self._created: dict[str, dict] = {}  # sid -> form of accepted creates
        self._resources: dict[str, dict] = {}  # sid -> the Message resource, as listed
        self._delays: deque[_Delay] = deque()
        self.clock = lambda: datetime.now(timezone.utc)  # the double's "now"
        self._closed_sessions: set[str] = set()  # WhatsApp "To"s outside the 24-hour window
        self._calls: dict[str, dict] = {}  # sid -> the call's state, as a fetch returns it
        self._lock = threading.Lock()
        # called with (sid, form) after a create is accepted and before it is answered
        self.before_answer = None
        self._server = None
        self._thread = None
        self._stopping = threading.Event()  # set by stop(): a held answer is given up at once

    # lifecycle -----------------------------------------------------------
    def start(self) -> "TwilioDouble":
        # waitress keeps a client's connection for its next request (HTTP/1.1 keep-alive), as
        # Twilio's API does. werkzeug's development server closes every connection after one
        # answer: a new TCP connection, and a new server thread, for every message sent, which
        # is no part of what the service costs against Twilio
        import waitress

        self._stopping.clear()
        self._server = waitress.create_server(self._wsgi, host="127.0.0.1", port=0,
                                              threads=SERVER_THREADS)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            server = self._server

            def close_all():  # in the server's own loop: every connection, then the listener
                for channel in list(server._map.values()):
                    channel.close()

            def wake():  # an answer finishing meanwhile wakes a loop that may be gone
                # close_all runs under the trigger's lock (its thunks do): once the trigger is
                # closed its fd numbers may belong to another file of the process (a database
                # or Redis socket), so nothing is written to them then
                with trigger.lock:
                    if trigger._closed:
                        return
                    try:
                        trigger._physical_pull()
                    except OSError:
                        pass

            trigger = server.trigger
            server.pull_trigger = wake
            trigger.pull_trigger(close_all)  # the loop ends when nothing is left open
            self._thread.join(timeout=5)
            # a delayed answer stops waiting now that its connection is closed: its thread
            # ends (finding the client gone) instead of outliving stop()
            self._stopping.set()
            server.task_dispatcher.shutdown(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "TwilioDouble":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.effective_port}"

    def client(self, **kwargs) -> Client:
        """A twilio ``Client`` wired to this double (see `configure`)."""
        return self.configure(
            Client(self.account_sid, self.auth_token, environment={}, **kwargs)
        )

    def configure(self, client: Client) -> Client:
        """Point an existing twilio ``Client`` at this double and return it."""
        if client.region or client.edge:
            raise ValueError("twilio Client with region/edge rewrites the double's host")
        client.api.base_url = self.url
        session = getattr(client.http_client, "session", None)
        if session is not None:
            session.trust_env = False  # no HTTP(S)_PROXY detour for 127.0.0.1
        if getattr(client.http_client, "timeout", 0) is None:
            client.http_client.timeout = 10
        return client

    # inspection ----------------------------------------------------------
    def messages(self) -> list[dict]:
        """Forms of accepted (2xx) Message creates, in order."""
        return self._accepted("Messages")

    def calls(self) -> list[dict]:
        """Forms of accepted (2xx) Call creates, in order."""
        return self._accepted("Calls")

    def placed_calls(self) -> list[tuple[str, dict]]:
        """(sid, form) of each call the double created, in order."""
        with self._lock:
            return [(sid, form) for sid, form in self._created.items() if sid.startswith("CA")]

    def call_updates(self, sid: str | None = None) -> list[dict]:
        """Forms of accepted updates of live calls (e.g. new TwiML), in order."""
        with self._lock:
            return [r.form for r in self.requests
                    if r.method == "POST" and _CALL.match(r.path) and 200 <= r.response_status < 300
                    and (sid is None or r.path.endswith(f"/{sid}.json"))]

    def call(self, sid: str) -> dict:
        """The state of a call the double created (as a fetch would show it)."""
        with self._lock:
            return dict(self._calls[sid])

    def _accepted(self, resource: str) -> list[dict]:
        with self._lock:
            return [
                r.form
                for r in self.requests
                if r.method == "POST"
                and r.path.endswith(f"/{resource}.json")
                and 200 <= r.response_status < 300
            ]

    def clear(self) -> None:
        """Forget recorded requests and pending scripted failures."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()
            self._created.clear()
            self._resources.clear()
            self._delays.clear()
            self._closed_sessions.clear()
            self._calls.clear()

    # scripting -----------------------------------------------------------
    def fail_next(
        self,
        status: int = 429,
        code: int = 20429,
        message: str = "Too Many Requests",
        times: int = 1,
        to: str | None = None,
        resource: str | None = None,
    ) -> None:
        """Queue `times` error answers (FIFO) for the next creates.

        `to` limits them to that recipient; `resource` to "Messages" or
        "Calls". "{to}" in `message` is replaced by the request's To.
        """
        with self._lock:
            self._failures.extend([_Failure(status, code, message, to, resource)] * times)

    def delay_next(self, seconds: float, times: int = 1, to: str | None = None,
                   create: bool = True, resource: str = "Messages") -> None:
        """The next `times` creates of `resource` ("Messages", or "Calls"), to `to` if given,
        are answered `seconds` late.

        create=True: the message is accepted (and listed) at once and only the answer is late,
        as when Twilio took it and the network then stalled. create=False: the request is
        held and then refused with a 500 without anything being created, as when it never got
        through. A client whose timeout is shorter sees the same read timeout either way."""
        with self._lock:
            self._delays.extend([_Delay(seconds, create, to, resource)] * times)

    def listed(self) -> list[dict]:
        """Every Message resource the double accepted, oldest first (what the list shows)."""
        with self._lock:
            return list(self._resources.values())

    def fail_rate_limited(self, times: int = 1, to: str | None = None) -> None:
        self.fail_next(*RATE_LIMITED, times=times, to=to)

    def fail_unsubscribed(self, times: int = 1, to: str | None = None) -> None:
        self.fail_next(*UNSUBSCRIBED, times=times, to=to)

    def fail_invalid_to(self, times: int = 1, to: str | None = None) -> None:
        self.fail_next(*INVALID_TO, times=times, to=to)

    def fail_outside_window(self, times: int = 1, to: str | None = None) -> None:
        self.fail_next(*OUTSIDE_WINDOW, times=times, to=to)

    def close_whatsapp_session(self, to: str) -> None:
        """From now on a free-form (Body) WhatsApp message to `to` ("whatsapp:+...") is
        refused with 63016, as outside the 24-hour session; a template (ContentSid) goes."""
        with self._lock:
            self._closed_sessions.add(to)

    def fail_server_error(self, times: int = 1, to: str | None = None) -> None:
        self.fail_next(*SERVER_ERROR, times=times, to=to)

    def fail_unavailable(self, times: int = 1, to: str | None = None) -> None:
        self.fail_next(*UNAVAILABLE, times=times, to=to)

    def status_callback_params(
        self,
        message_sid: str,
        status: str = "undelivered",
        error_code: int | None = UNREACHABLE_HANDSET,
        to: str | None = None,
        from_: str | None = None,
    ) -> dict:
        """Form Twilio POSTs to a message StatusCallback (To/From default to
        the recorded create with that sid)."""
        with self._lock:
            sent = self._created.get(message_sid, {})
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": from_ if from_ is not None else sent.get("From", ""),
            "MessageSid": message_sid,
            "MessageStatus": status,
            "SmsSid": message_sid,
            "SmsStatus": status,
            "To": to if to is not None else sent.get("To", ""),
        }
        if sent.get("MessagingServiceSid"):
            params["MessagingServiceSid"] = sent["MessagingServiceSid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    # calls ---------------------------------------------------------------
    def set_call(self, sid: str, **state) -> dict:
        """Move a created call on: status ("ringing", "in-progress", "completed", "busy",
        "no-answer", "failed", "canceled"), duration (s), answered_by. Returns its state."""
        with self._lock:
            call = self._calls[sid]
            call.update({k: v for k, v in state.items() if v is not None})
            call["date_updated"] = _now()
            return dict(call)

    def _call_base(self, sid: str) -> dict:
        with self._lock:
            sent = self._created.get(sid, {})
        return {"AccountSid": self.account_sid, "ApiVersion": API_VERSION, "CallSid": sid,
                "From": sent.get("From", ""), "To": sent.get("To", ""),
                "Caller": sent.get("From", ""), "Called": sent.get("To", ""),
                "Direction": "outbound-api"}

    def call_status_params(self, sid: str, status: str = "completed", duration: int | None = None,
                           answered_by: str | None = None, error_code: int | None = None) -> dict:
        """The form Twilio POSTs to a call's StatusCallback; the call moves to `status`."""
        self.set_call(sid, status=status, duration=duration, answered_by=answered_by)
        params = {**self._call_base(sid), "CallStatus": status,
                  "CallbackSource": "call-progress-events", "Timestamp": _now()}
        if status in FINAL_CALL_STATUSES:
            params["CallDuration"] = str(duration or 0)
            params["Duration"] = str(-(-(duration or 0) // 60))  # billed minutes, rounded up
        if answered_by:
            params["AnsweredBy"] = answered_by
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def amd_params(self, sid: str, answered_by: str = "machine_end_beep",
                   duration_ms: int = 4200) -> dict:
        """The form Twilio POSTs to AsyncAmdStatusCallback when detection ends."""
        self.set_call(sid, answered_by=answered_by)
        return {"AccountSid": self.account_sid, "CallSid": sid, "AnsweredBy": answered_by,
                "MachineDetectionDuration": str(duration_ms)}

    def voice_params(self, sid: str, status: str = "in-progress", **extra) -> dict:
        """The form of a voice webhook request for a call the double created (its Url, a
        Gather's or a Record's action): add Digits, SpeechResult and Confidence, RecordingUrl..."""
        self.set_call(sid, status=status)
        return {**self._call_base(sid), "CallStatus": status, **extra}

    def incoming_call_params(self, from_: str, to: str, sid: str | None = None) -> dict:
        """The form of the voice webhook request for a call someone makes to our number."""
        return {"AccountSid": self.account_sid, "ApiVersion": API_VERSION,
                "CallSid": sid or _sid("CA"), "CallStatus": "ringing", "Direction": "inbound",
                "From": from_, "To": to, "Caller": from_, "Called": to}

    def signature(self, url: str, params: dict) -> str:
        """X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
        return RequestValidator(self.auth_token).compute_signature(url, params)

    # HTTP ----------------------------------------------------------------
    def _wsgi(self, environ, start_response):
        arrived = time.time()  # when the request reached the double, before any answering
        request = Request(environ)
        form = _form(request)
        status, body, headers = self._answer(request, form)
        with self._lock:
            self.requests.append(
                Recorded(request.method, request.path, form, self._auth_ok(request), status, arrived)
            )
        response = Response(json.dumps(body), status=status, headers=headers,
                            content_type="application/json; charset=utf-8")
        return response(environ, start_response)

    def _auth_ok(self, request: Request) -> bool:
        auth = request.authorization
        return bool(auth) and (auth.username, auth.password) == (self.account_sid, self.auth_token)

    def _answer(self, request: Request, form: dict) -> tuple[int, dict, dict]:
        if not self._auth_ok(request):
            headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            return 401, error_body(401, 20003, "Authenticate"), headers
        one = _CALL.match(request.path)
        if one and one[1] == self.account_sid:
            return self._one_call(request.method, one[2], form)
        match = _CREATE.match(request.path)
        if (request.method == "GET" and match and match[1] == self.account_sid
                and match[2] == "Messages"):
            return 200, self._list(request), {}
        if request.method != "POST" or not match or match[1] != self.account_sid:
            message = f"The requested resource {request.path} was not found"
            return 404, error_body(404, 20404, message), {}
        resource, to = match[2], form.get("To", "")
        delay = self._take_delay(resource, to)
        if delay is not None and not delay.create:
            self._stopping.wait(delay.seconds)
            return SERVER_ERROR[0], error_body(*SERVER_ERROR), {}
        failure = self._take_failure(resource, to)
        if failure:
            message = failure.message.replace("{to}", str(to))
            return failure.status, error_body(failure.status, failure.code, message), {}
        invalid = self._validate(resource, form)
        if invalid:
            return 400, error_body(400, *invalid), {}
        with self._lock:
            closed = resource == "Messages" and to in self._closed_sessions
        if closed and not form.get("ContentSid"):
            return OUTSIDE_WINDOW[0], error_body(*OUTSIDE_WINDOW), {}
        if resource == "Messages":
            resource_json = self._message(form)
        else:
            resource_json = self._call(form)
        with self._lock:
            self._created[resource_json["sid"]] = form
            if resource == "Calls":
                self._calls[resource_json["sid"]] = resource_json
            if resource == "Messages":
                self._resources[resource_json["sid"]] = dict(
                    resource_json, status="sent", date_sent=resource_json["date_created"])
        if self.before_answer is not None:  # e.g. a status callback that beats the response
            self.before_answer(resource_json["sid"], form)
        if delay is not None:
            self._stopping.wait(delay.seconds)
        return 201, resource_json, {}

    def _one_call(self, method: str, sid: str, form: dict) -> tuple[int, dict, dict]:
        """GET: fetch a call; POST: update it (new Twiml or Url, or Status=completed)."""
        with self._lock:
            call = self._calls.get(sid)
        if call is None:
            message = f"The requested resource /Calls/{sid}.json was not found"
            return 404, error_body(404, 20404, message), {}
        if method == "GET":
            return 200, dict(call), {}
        if method != "POST":
            return 405, error_body(405, 20004, "Method not allowed"), {}
        failure = self._take_failure("Calls", call["to"])
        if failure:
            return failure.status, error_body(failure.status, failure.code, failure.message), {}
        if call["status"] in FINAL_CALL_STATUSES:
            return CALL_NOT_IN_PROGRESS[0], error_body(*CALL_NOT_IN_PROGRESS), {}
        if form.get("Status") in ("completed", "canceled"):
            self.set_call(sid, status=form["Status"])
        return 200, self.call(sid), {}

    def _take_delay(self, resource: str, to: str) -> _Delay | None:
        with self._lock:
            for delay in self._delays:
                if delay.to in (None, to) and delay.resource == resource:
                    self._delays.remove(delay)
                    return delay
        return None

    def _list(self, request: Request) -> dict:
        """GET Messages.json: To, From, DateSent / DateSent< / DateSent> filters, newest first,
        paged as Twilio pages (Page, PageSize; next_page_uri when there is more)."""
        args = request.args
        with self._lock:
            found = list(self._resources.values())
        for field, key in (("To", "to"), ("From", "from")):
            if field in args:
                found = [m for m in found if m[key] == args[field]]
        for name in ("DateSent", "DateSent<", "DateSent>"):
            if name not in args:
                continue
            when, whole_day = _date_filter(args[name])
            day = timedelta(days=1)

            def keep(m, name=name, when=when, whole_day=whole_day):
                sent = parsedate_to_datetime(m["date_sent"])
                if name == "DateSent":
                    return when <= sent < when + day if whole_day else sent == when
                if name == "DateSent<":
                    return sent < when + day if whole_day else sent <= when
                return sent >= when

            found = [m for m in found if keep(m)]
        found.sort(key=lambda m: parsedate_to_datetime(m["date_sent"]), reverse=True)
        size = min(int(args.get("PageSize", LIST_PAGE_SIZE)), 1000)
        page = int(args.get("Page", 0))
        chunk = found[page * size:(page + 1) * size]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        query = {k: v for k, v in args.items() if k not in _PAGE_KEYS}

        def uri(n: int) -> str:
            return base + "?" + urlencode({**query, "PageSize": size, "Page": n})

        more = (page + 1) * size < len(found)
        return {"messages": [{k: v for k, v in m.items() if not k.startswith("_")}
                             for m in chunk],
                "page": page, "page_size": size, "start": page * size,
                "end": page * size + max(len(chunk) - 1, 0), "uri": uri(page),
                "first_page_uri": uri(0), "previous_page_uri": uri(page - 1) if page else None,
                "next_page_uri": uri(page + 1) if more else None}

    def _take_failure(self, resource: str, to: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.to in (None, to) and failure.resource in (None, resource):
                    self._failures.remove(failure)
                    return failure
        return None

    @staticmethod
    def _validate(resource: str, form: dict) -> tuple[int, str] | None:
        if not form.get("To"):
            if resource == "Calls":
                return 21201, "No 'To' number is specified"
            return 21604, "A 'To' phone number is required."
        if resource == "Calls":
            if not form.get("From"):
                return 21213, "No 'From' number is specified"
            if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
                return 21205, "Url parameter is required"
        if resource == "Messages":
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return 21603, "A 'From' phone number is required."
            if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
                return 21602, "Message body is required."
        return None

    def _base(self, prefix: str, resource: str) -> dict:
        sid, now = _sid(prefix), _rfc2822(self.clock())
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/{resource}/{sid}"
        return {"sid": sid, "account_sid": self.account_sid, "api_version": API_VERSION,
                "date_created": now, "date_updated": now, "uri": uri + ".json",
                "direction": "outbound-api", "price": None, "price_unit": "USD",
                "_uri": uri}

    def _message(self, form: dict) -> dict:
        out = self._base("SM", "Messages")
        uri = out.pop("_uri")
        to, body = form["To"], form.get("Body", "")
        media = form.get("MediaUrl") or []
        via_service = form.get("MessagingServiceSid") and not form.get("From")
        if str(to).startswith("whatsapp:") or _count_segments is None:
            segments = 1
        else:
            segments = _count_segments(body).segments
        out.update({
            "to": to,
            "from": form.get("From"),  # null until a service picks a sender
            "body": body,
            "status": "accepted" if via_service else "queued",
            "num_segments": str(segments),
            "num_media": str(len(media) if isinstance(media, list) else 1),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "subresource_uris": {"media": uri + "/Media.json"},
        })
        return out

    def _call(self, form: dict) -> dict:
        out = self._base("CA", "Calls")
        uri = out.pop("_uri")
        out.update({
            "to": form["To"], "to_formatted": form["To"],
            "from": form.get("From"), "from_formatted": form.get("From"),
            "status": "queued", "parent_call_sid": None, "phone_number_sid": None,
            "start_time": None, "end_time": None, "duration": None,
            "answered_by": None, "forwarded_from": None, "caller_name": None,
            "group_sid": None, "trunk_sid": None, "queue_time": "0",
            "subresource_uris": {
                "notifications": uri + "/Notifications.json",
                "recordings": uri + "/Recordings.json",
                "events": uri + "/Events.json",
            },
        })
        return out
