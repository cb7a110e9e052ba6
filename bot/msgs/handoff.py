"""The webhook's hand-off to the workers: an RQ job, written to Redis with as little work as RQ
allows.

`Queue.enqueue_call` builds a `Job` object and sends, in one MULTI/EXEC: SADD rq:queues, HSET
the job's status, HSET the job's fields, RPUSH the queue. Building and encoding that costs
the webhook more CPU than anything else it does but the INSERT. For the webhook's one job
(`inbound.handle`), a `Handoff` has RQ make those commands once, for a template job, and
keeps them as bytes; each message only puts in what differs: the job's id, its call (the
pickled data RQ keeps, and the description) and the times (created, enqueued). The worker
finds exactly what RQ's own enqueue would have written (tests/test_handoff.py compares the
two field by field), so nothing on the worker side changes.

The commands go out in one write, with the caller's extra commands (the metrics counter)
inside the same MULTI/EXEC, on a connection of the client's pool, retried as redis-py
retries a pipeline (once more when the connection was dropped).
"""
from __future__ import annotations

import pickle
import zlib
from datetime import datetime, timezone

from redis.exceptions import ResponseError
from rq import Queue
from rq.job import Job
from rq.serializers import DefaultSerializer
from rq.utils import get_call_string, utcformat

_TEMPLATE_ID = "sathi-handoff-template"
_VARYING = ("created_at", "enqueued_at", "data", "description")


def _resp(value) -> bytes:
    """One RESP bulk string, as redis-py's encoder makes it (str as UTF-8, int as digits)."""
    if isinstance(value, str):
        value = value.encode()
    elif isinstance(value, int):
        value = b"%d" % value
    elif isinstance(value, float):
        value = repr(value).encode()
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _command(args) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_resp(a) for a in args)


class Handoff:
    """RQ's enqueue of `func` on `queue` (a job id, args and kwargs of the caller's), with the
    job options given here (retry, timeout...) fixed once, as RQ itself would set them. Made
    with a Redis connection (RQ asks the server's version once); used with any."""

    def __init__(self, queue: Queue, func, **job_options):
        if queue.serializer is not DefaultSerializer and queue.serializer is not pickle:
            raise ValueError("Handoff writes RQ's default (pickle) job data")
        self.func = func
        self.job_options = job_options
        self._parts = self._template(queue)  # the template's commands, as bytes and slots

    def _template(self, queue: Queue) -> list:
        """The commands RQ sends to enqueue a template job, taken from a pipeline that is never
        executed, cut into constant bytes and the slots each message fills."""
        pipe = queue.connection.pipeline()
        try:
            job = queue.enqueue_call(self.func, (0,), None, job_id=_TEMPLATE_ID, pipeline=pipe,
                                     **self.job_options)
            stack = [tuple(args) for args, _options in pipe.command_stack]
        finally:
            pipe.reset()
        self.func_name = job.func_name
        parts: list = []  # bytes, or a slot name: "id", "key" or one of _VARYING
        key = Job.key_for(_TEMPLATE_ID)
        for args in stack:
            name = str(args[0]).upper()
            fields = {}
            if name == "HSET" and len(args) > 4 and "data" in args[2::2]:
                fields = {i + 1: args[i] for i in range(2, len(args), 2) if args[i] in _VARYING}
            chunk = [b"*%d\r\n" % len(args)]
            for i, a in enumerate(args):
                if i in fields:
                    slot = fields[i]
                elif a == key:
                    slot = "key"
                elif a == _TEMPLATE_ID:
                    slot = "id"
                elif isinstance(a, str) and _TEMPLATE_ID in a:
                    raise ValueError(f"RQ names the job in a way Handoff does not know: {a!r}")
                else:
                    chunk.append(_resp(a))
                    continue
                parts.append(b"".join(chunk))
                parts.append(slot)
                chunk = []
            parts.append(b"".join(chunk))
        self.commands = len(stack)
        return [p for p in parts if p != b""]

    def enqueue(self, connection, job_id: str, args: tuple, kwargs: dict | None = None,
                extra: list[tuple] = ()) -> None:
        """Enqueue `func(*args, **kwargs)` as job `job_id` through `connection` (a Redis
        client), with `extra` commands (tuples of arguments) in the same transaction. Raises as
        a redis-py pipeline would."""
        kwargs = kwargs or {}
        at = utcformat(datetime.now(timezone.utc))
        fill = {
            "id": _resp(job_id),
            "key": _resp(Job.key_for(job_id)),
            "created_at": _resp(at),
            "enqueued_at": _resp(at),
            "data": _resp(_compress(DefaultSerializer.dumps(
                (self.func_name, None, args, kwargs)))),
            "description": _resp(get_call_string(self.func_name, args, kwargs, max_length=75)),
        }
        payload = b"".join([b"*1\r\n$5\r\nMULTI\r\n"]
                           + [p if isinstance(p, bytes) else fill[p] for p in self._parts]
                           + [_command(c) for c in extra] + [b"*1\r\n$4\r\nEXEC\r\n"])
        _transact(connection, payload, self.commands + len(extra))


def _compress(data: bytes) -> bytes:
    """`data` in zlib's format, which RQ's `zlib.decompress` reads as it reads what RQ's own
    `zlib.compress` writes, made with a 512-byte window and zlib's least memory: a job's data
    is about 100 bytes, and `zlib.compress`'s default state (some 270 KB, allocated, touched
    and freed on every call) cost four times what the rest of building the job does."""
    c = zlib.compressobj(6, zlib.DEFLATED, 9, 1)
    return c.compress(data) + c.flush()


def _transact(client, payload: bytes, n: int) -> list:
    """Send a packed MULTI, `n` commands and EXEC on a pooled connection; the EXEC's replies."""
    pool = client.connection_pool
    conn = pool.get_connection()

    def once():
        conn.send_packed_command([payload])
        errors = []
        for _ in range(n + 1):  # MULTI's +OK, then +QUEUED for each command
            try:
                conn.read_response()
            except ResponseError as e:
                errors.append(e)
        try:
            replies = conn.read_response()
        except ResponseError as e:  # EXECABORT: a command was refused when queued
            raise (errors[0] if errors else e) from None
        if errors:
            raise errors[0]
        for reply in replies or ():
            if isinstance(reply, Exception):
                raise reply
        return replies

    try:
        return conn.retry.call_with_retry(once, lambda _error: conn.disconnect())
    except BaseException:
        conn.disconnect()  # whatever was left unread on it, it is not lent again as it is
        raise
    finally:
        pool.release(conn)
