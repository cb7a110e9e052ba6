"""The channels file (SATHI_CHANNELS): extra SMS channels, configured rather than coded.

Like RapidPro's External API channel, a local gateway is described, not programmed: where to
send (URL, method, form or JSON, the params with {placeholders}, headers), how to read its
answer (an id path, the codes that mean "retry" or "opted out"), how to recognise its inbound
requests (a shared token, an HMAC of the body) and what its delivery reports say. The file is
checked against channels.schema.json when the service starts; a bad one stops it with
`file:line: reason`.

Secrets stay out of the file: `${NAME}` (or `${NAME:-default}`) in any value is read from the
environment at load, and a missing variable is refused with its line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from ..schemas import DataFileError, line_of, load_yaml, read_text, schema_problem

SCHEMA = Path(__file__).with_name("channels.schema.json")

PLACEHOLDERS = ("to", "to_no_plus", "to_local", "text", "from", "id", "encoding")
"""What a send's url, params and headers may name: the recipient in E.164 (+8801711000001),
without its plus (8801711000001) and in national form (01711000001); the text; the channel's
`from`; our id for the message; and the channel's word for the text's encoding."""

DEFAULT_METHOD = "POST"
DEFAULT_FORMAT = "form"  # POST/PUT params as application/x-www-form-urlencoded, as courier does
DEFAULT_TIMEOUT = 10.0  # seconds for one request to a gateway (as for Twilio's REST calls)
DEFAULT_RETRY_STATUS = (429, 500, 502, 503, 504)  # HTTP answers that mean: try again later
DEFAULT_ENCODING = {"GSM-7": "GSM-7", "UCS-2": "UCS-2"}  # {encoding} when a channel names none
DEFAULT_FIELDS = {"from": "from", "text": "text", "id": "id", "date": "date"}  # inbound fields
DEFAULT_MISSING_STATUS = (404,)  # a lookup's answer that means: the gateway has no such message
DEFAULT_HMAC_MAX_AGE = 300  # seconds a signed timestamp is accepted (replays older are refused)
RESERVED = ("twilio", "loopback", "sms", "whatsapp", "voice")  # names a channel cannot take
NUMERIC = {("rate",): float, ("send", "timeout"): float, ("hmac", "max_age"): int}
"""Values read as numbers when they come from ${...}: a channel's rate, a send's timeout, an
HMAC's max_age (matched on the end of their path in the file)."""

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ChannelsFileError(DataFileError):
    """A channels file that cannot be used; str() is 'file:line: reason'."""


@dataclass(frozen=True)
class Hmac:
    key: str
    header: str
    timestamp: str | None = None
    max_age: int = DEFAULT_HMAC_MAX_AGE
    algorithm: str = "sha256"
    encoding: str = "hex"


@dataclass(frozen=True)
class Send:
    url: str
    method: str = DEFAULT_METHOD
    format: str = DEFAULT_FORMAT
    params: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    encoding: dict = field(default_factory=lambda: dict(DEFAULT_ENCODING))
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Answer:
    ok_path: str | None = None
    ok_values: tuple = ()
    id: str | None = None
    code: str | None = None
    reason: str | None = None
    retry: tuple = ()
    opted_out: tuple = ()
    retry_status: tuple[int, ...] = DEFAULT_RETRY_STATUS
    duplicate_status: tuple[int, ...] = ()  # "our {id} is there already": looked up, not failed


@dataclass(frozen=True)
class Receive:
    token: str | None = None
    hmac: Hmac | None = None
    format: str | None = None  # None: by the request's Content-Type
    fields: dict = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    only_path: str | None = None
    only_values: tuple = ()


@dataclass(frozen=True)
class Status:
    statuses: dict
    id: str | None = None
    ref: str | None = None
    status: str = "status"
    error: str | None = None
    format: str | None = None
    retry: tuple = ()


@dataclass(frozen=True)
class Lookup:
    """How the gateway is asked for a message by the {id} we gave it (see gateway.lookup)."""

    url: str
    method: str = "GET"
    id: str | None = None  # path of the gateway's id in the answer
    to: str | None = None  # path of the recipient in the answer
    missing_status: tuple[int, ...] = DEFAULT_MISSING_STATUS


@dataclass(frozen=True)
class Gateway:
    """One extra SMS channel from the channels file."""

    name: str
    send: Send
    answer: Answer = Answer()
    prefixes: tuple[str, ...] = ()
    sender: str | None = None  # `from`
    rate: float | None = None  # None: SATHI_SMS_RATE
    receive: Receive | None = None
    status: Status | None = None
    description: str = ""
    lookup: Lookup | None = None  # None: a send whose answer was lost is sent again

    def serves(self, number: str) -> int:
        """The length of the longest prefix of `number` this channel serves (0: none)."""
        return max((len(p) for p in self.prefixes if number.startswith(p)), default=0)

    def describe(self, public_base_url: str) -> list[str]:
        """What `sathi channels check` says about the channel: never a secret, never a query."""
        parts = urlsplit(self.send.url)
        lines = [f"{self.name}: {self.description or 'HTTP gateway'}",
                 f"  serves: {', '.join(self.prefixes) or 'those who text it'}"
                 f"; rate: {'SATHI_SMS_RATE' if self.rate is None else f'{self.rate:g}/s'}",
                 f"  send: {self.send.method} {parts.scheme}://{parts.netloc}{parts.path}"
                 f" ({'query' if self.send.method == 'GET' else self.send.format})"]
        if self.receive is not None:
            how = " + ".join(w for w, on in (("token", self.receive.token), ("HMAC", self.receive.hmac)) if on)
            lines.append(f"  receive ({how}): {public_base_url}/sms/{self.name}/receive")
        else:
            lines.append("  receive: none (outbound only)")
        if self.status is not None:
            lines.append(f"  delivery reports: {public_base_url}/sms/{self.name}/status")
        return lines

    def warnings(self, public_base_url: str) -> list[str]:
        """What works but should not be left so."""
        found = []
        if self.send.url.startswith("http://"):
            found.append(f"{self.name}: send url is plain http: its credentials cross the "
                         "network unencrypted")
        if self.receive is not None and not public_base_url.startswith("https://"):
            found.append(f"{self.name}: PUBLIC_BASE_URL is not https: the gateway's token would "
                         "cross the network unencrypted")
        return found


def load(path: Path | str, env: Mapping[str, str] | None = None) -> dict[str, Gateway]:
    """The channels in the file at `path`, by name, in file order."""
    path = Path(path)
    try:
        text = read_text(path, ChannelsFileError)  # not UTF-8: refused with its line
    except OSError as e:
        raise ChannelsFileError(path, None, f"cannot read the channels file: {e.strerror}") from e
    return parse(text, path, os.environ if env is None else env)


def parse(text: str, path: Path | str = "<channels>",
          env: Mapping[str, str] | None = None) -> dict[str, Gateway]:
    tree, data = load_yaml(text, path, ChannelsFileError)
    data = _interpolate(data, [], tree, path, os.environ if env is None else env)
    problem = schema_problem(SCHEMA, data)
    if problem is not None:
        where, reason = problem
        raise ChannelsFileError(path, line_of(tree, where), reason)
    gateways: dict[str, Gateway] = {}
    for i, raw in enumerate(data["channels"]):
        line = line_of(tree, ["channels", i])
        if raw["name"] in RESERVED:
            raise ChannelsFileError(path, line_of(tree, ["channels", i, "name"]),
                                    f"the name {raw['name']!r} is taken (reserved: "
                                    + ", ".join(RESERVED) + ")")
        if raw["name"] in gateways:
            raise ChannelsFileError(path, line, f"channel {raw['name']!r} is named twice")
        unknown = sorted(_placeholders(raw["send"]) - set(PLACEHOLDERS))
        section = "send"
        if not unknown and "lookup" in raw:
            section = "lookup"
            unknown = sorted(_placeholders(raw["lookup"]["url"]) - set(PLACEHOLDERS))
        if unknown:
            raise ChannelsFileError(path, line_of(tree, ["channels", i, section]),
                                    f"unknown placeholder {{{unknown[0]}}} (known: "
                                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + ")")
        gateways[raw["name"]] = _gateway(raw)
    return gateways


def _interpolate(value, where: list, tree, path, env: Mapping[str, str]):
    """Every ${NAME} / ${NAME:-default} in the file's values, read from `env`."""
    if isinstance(value, dict):
        return {k: _interpolate(v, where + [k], tree, path, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, where + [i], tree, path, env) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def one(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if env.get(name):
            return env[name]
        if default is not None:
            return default
        raise ChannelsFileError(path, line_of(tree, where),
                                f"environment variable {name} is not set")

    out = _ENV.sub(one, value)
    number = _numeric(where)
    if number is not None:
        try:
            return number(out)
        except ValueError:
            raise ChannelsFileError(path, line_of(tree, where),
                                    f"{where[-1]} must be a number, not {out!r}") from None
    return out


def _numeric(where: list):
    if len(where) == 3 and where[0] == "channels" and where[2] == "rate":
        return NUMERIC[("rate",)]
    return NUMERIC.get(tuple(where[-2:])) if len(where) >= 4 else None


def _placeholders(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value)) if value else set()
    return set(_PLACEHOLDER.findall(value)) if isinstance(value, str) else set()


def _gateway(raw: dict) -> Gateway:
    s = raw["send"]
    auth = s.get("basic_auth")
    send = Send(url=s["url"], method=s.get("method", DEFAULT_METHOD),
                format=s.get("format", DEFAULT_FORMAT), params=s.get("params", {}),
                headers=s.get("headers", {}),
                basic_auth=(auth["user"], auth["password"]) if auth else None,
                encoding=s.get("encoding", dict(DEFAULT_ENCODING)),
                timeout=float(s.get("timeout", DEFAULT_TIMEOUT)))
    a = raw.get("answer", {})
    answer = Answer(ok_path=a.get("ok", {}).get("path"), ok_values=tuple(a.get("ok", {}).get("in", ())),
                    id=a.get("id"), code=a.get("code"), reason=a.get("reason"),
                    retry=tuple(a.get("retry", ())), opted_out=tuple(a.get("opted_out", ())),
                    retry_status=tuple(a.get("retry_status", DEFAULT_RETRY_STATUS)),
                    duplicate_status=tuple(a.get("duplicate_status", ())))
    receive = None
    if "receive" in raw:
        r = raw["receive"]
        h = r.get("hmac")
        receive = Receive(
            token=r.get("token"),
            hmac=Hmac(key=h["key"], header=h["header"], timestamp=h.get("timestamp"),
                      max_age=h.get("max_age", DEFAULT_HMAC_MAX_AGE),
                      algorithm=h.get("algorithm", "sha256"),
                      encoding=h.get("encoding", "hex")) if h else None,
            format=r.get("format"), fields={**DEFAULT_FIELDS, **r.get("fields", {})},
            only_path=r.get("only", {}).get("path"), only_values=tuple(r.get("only", {}).get("in", ())))
    status = None
    if "status" in raw:
        st = raw["status"]
        f = st["fields"]
        status = Status(statuses=dict(st["statuses"]), id=f.get("id"), ref=f.get("ref"),
                        status=f["status"], error=f.get("error"), format=st.get("format"),
                        retry=tuple(st.get("retry", ())))
    lookup = None
    if "lookup" in raw:
        lk = raw["lookup"]
        lookup = Lookup(url=lk["url"], method=lk.get("method", "GET"), id=lk.get("id"),
                        to=lk.get("to"),
                        missing_status=tuple(lk.get("missing_status", DEFAULT_MISSING_STATUS)))
    return Gateway(name=raw["name"], send=send, answer=answer, lookup=lookup,
                   prefixes=tuple(raw.get("prefixes", ())), sender=raw.get("from"),
                   rate=raw.get("rate"), receive=receive, status=status,
                   description=raw.get("description", ""))
