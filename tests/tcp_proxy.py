"""A TCP proxy a test can turn against the service: pass traffic, refuse it, or hang.

    with TcpProxy("127.0.0.1", 5432) as proxy:     # listens on 127.0.0.1:proxy.port
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        proxy.refuse()   # connections are refused (nothing listens) and open ones are cut
        proxy.hang()     # connections are accepted and then nothing more: no byte either way
        proxy.pass_()    # back to normal; connections held while hanging are cut

This is how a database that is down, or one that accepts TCP and never answers, looks to a
client. Nothing here touches the server behind the proxy.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from contextlib import contextmanager

PASS, REFUSE, HANG = "pass", "refuse", "hang"
_CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.mode = PASS
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._accepting: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "TcpProxy":
        self._listen()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping = True
        self._close_listener()
        self._cut_all()

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._accepting = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True)
        self._accepting.start()

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
            self._accepting = None

    # modes ---------------------------------------------------------------------------------
    def refuse(self) -> None:
        """Nothing listens on the port any more (ECONNREFUSED); open connections are cut."""
        self.mode = REFUSE
        self._close_listener()
        self._cut_all()

    def hang(self) -> None:
        """Accept connections and send nothing either way, on new and open connections."""
        if self._listener is None:
            self._listen()
        self.mode = HANG

    def pass_(self) -> None:
        """Forward again. Connections that were held while hanging are cut, as a network
        that comes back after a partition resets them."""
        held = self.mode == HANG
        self.mode = PASS
        if held:
            self._cut_all()
        if self._listener is None:
            self._listen()

    # plumbing ------------------------------------------------------------------------------
    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed (refuse or exit)
            with self._lock:
                self._conns.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            if self.mode == HANG:  # accepted, and then silence; never forwarded afterwards
                while self.mode == HANG and self._wait(client):
                    pass
                return
            if self.mode != PASS:
                return
            upstream = socket.create_connection(self.upstream, timeout=5)
            upstream.settimeout(None)
            with self._lock:
                self._conns.add(upstream)
            self._pump(client, upstream)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    self._drop(s)

    def _wait(self, client: socket.socket) -> bool:
        """While hanging: True as long as the client is still connected (what it sends waits
        unread)."""
        try:
            ready, _, _ = select.select([client], [], [], 0.1)
            if not ready:
                return True
            data = client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except (OSError, ValueError):
            return False
        if not data:
            return False
        time.sleep(0.1)  # bytes are waiting; leave them unread
        return True

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while True:
            if self.mode == HANG:  # an open connection goes silent mid-conversation, and is
                while self.mode == HANG and self._wait(a):  # cut when the network comes back
                    pass
                return
            if self.mode != PASS:
                return
            try:
                ready, _, _ = select.select(list(peers), [], [], 0.1)
            except (OSError, ValueError):
                return
            for s in ready:
                data = s.recv(_CHUNK)
                if not data:
                    return
                peers[s].sendall(data)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._conns.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _cut_all(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@contextmanager
def database_behind_proxy(rt, database_url: str):
    """For the block, `rt.db` reaches the test database through a TcpProxy (yielded, passing
    traffic) that the test can turn; afterwards the proxy passes again and `rt.db` is put
    back."""
    from sqlalchemy.engine import make_url

    from bot.store.db import Database

    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        real = rt.db
        rt.db = Database(url.set(host="127.0.0.1", port=proxy.port)
                         .render_as_string(hide_password=False))
        try:
            yield proxy
        finally:
            proxy.pass_()
            rt.db.dispose()
            rt.db = real
