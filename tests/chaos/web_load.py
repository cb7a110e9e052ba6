"""Signed Twilio webhook traffic against a running gunicorn, from several teachers at once."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import requests

from bot.channels.signature import sign


@dataclass
class Sent:
    phone: str
    sid: str
    body: str
    status: int | None  # None: no answer at all (connection refused, timed out)
    took: float  # seconds
    at: float  # time.time() when it was sent


class Teachers:
    """`n` teachers, each texting numbered messages one after another (a person waits for
    the send to go through before typing the next), until `stop()`."""

    def __init__(self, base_url: str, auth_token: str, phones: list[str], pause: float = 0.2,
                 timeout: float = 20.0):
        self.url = base_url + "/twilio/messaging"
        self.token, self.phones, self.pause, self.timeout = auth_token, phones, pause, timeout
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._text, args=(p,), daemon=True)
                         for p in phones]

    def start(self) -> "Teachers":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> list[Sent]:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.sent

    def _text(self, phone: str) -> None:
        session = requests.Session()
        session.trust_env = False
        n = 0
        while not self._stop.is_set():
            n += 1
            sid = "SM" + uuid.uuid4().hex
            form = {"MessageSid": sid, "AccountSid": "AC" + "1" * 32, "From": phone,
                    "To": "+15005550006", "Body": f"উত্তর {n}", "NumMedia": "0"}
            headers = {"X-Twilio-Signature": sign(self.token, self.url, form)}
            started, at = time.monotonic(), time.time()
            try:
                status = session.post(self.url, data=form, headers=headers,
                                      timeout=self.timeout).status_code
            except requests.RequestException:
                status = None
            with self._lock:
                self.sent.append(Sent(phone, sid, form["Body"], status,
                                      time.monotonic() - started, at))
            self._stop.wait(self.pause)
        session.close()
