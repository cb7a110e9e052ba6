"""Local HTTP servers for the NLU client tests: a stand-in for Rasa's /model/parse, and a TCP
proxy in front of the real Rasa server that a test can cut to take Rasa down mid-conversation.

The stand-in answers in Rasa's JSON shape using the embedded classifier, so a conversation reads
the same through either backend; it can also be told to be slow, to fail (HTTP 500) or to
answer 200 with a ranking Rasa would never send ("garbled").
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (the timeout tests) is expected, not an error to print


class ParseServer:
    def __init__(self, mode: str = "ok", delay: float = 1.0):
        self.mode, self.delay, self.requests = mode, delay, 0
        self.released = threading.Event()  # a slow answer waits for `delay` or for `stop()`
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                outer.requests += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.mode == "slow":
                    outer.released.wait(outer.delay)
                if outer.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                from bot.nlu import embedded

                g = embedded.load().guess(body["text"])
                ranking = [{"name": n, "confidence": c} for n, c in g.ranking]
                if outer.mode == "garbled":  # a 200 whose ranking is not what Rasa sends
                    ranking = ["affirm", 0.9]
                answer = json.dumps({"text": body["text"], "entities": [],
                                     "intent": {"name": g.intent, "confidence": g.confidence},
                                     "intent_ranking": ranking})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Proxy:
    """Forwards TCP connections to host:port until `stop()`, which refuses new ones and cuts
    the open ones: to the client, the server behind it has gone."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.connections = target, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._stopped:
                client.close()
                return
            self.connections += 1
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stopped = True
        try:  # wakes the thread blocked in accept(); close() alone leaves the port listening
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for s in self._open:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_started: dict = {}


def real_rasa_url() -> str | None:
    """The real Rasa server for @pytest.mark.rasa tests: RASA_URL when set (scripts/nlu-ci), else
    one started here from the cached venv and model (about a minute), else None (skip).
    With SATHI_REQUIRE_RASA=1 (CI) a missing server is an error, never a silent skip."""
    import atexit
    import os
    import subprocess
    import urllib.request

    import pytest

    from bot.config import Settings
    from bot.nlu import rasa

    url = os.environ.get("RASA_URL")
    required = os.environ.get("SATHI_REQUIRE_RASA") == "1"
    if not url and "url" in _started:
        url = _started["url"]
    if not url:
        settings = Settings.from_env()
        cache = settings.cache_dir
        model, exe = rasa.model_path(cache, settings.rasa_epochs), rasa.executable(cache)
        if not (model.exists() and exe.exists()):
            if required:
                pytest.fail("SATHI_REQUIRE_RASA=1 but the Rasa venv or model is missing")
            pytest.skip("Rasa venv or trained model not found (scripts/nlu-ci makes them)")
        port = free_port()
        work = cache / "rasa-work"
        work.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([str(exe), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port),
                                 "--model", str(model)], cwd=work, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
        atexit.register(proc.terminate)
        url = _started["url"] = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"{url}/status", timeout=2).read()
            return url
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"Rasa at {url} did not answer /status")
            time.sleep(1)
