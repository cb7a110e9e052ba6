"""Hostile checks of the Twilio double served by waitress (HTTP/1.1 keep-alive): stop() with a
delayed answer in flight, and the adapter's sends over a kept connection around a read timeout."""
import logging
import threading
import time

from twilio_double import TwilioDouble

from bot.channels.base import Outgoing, Sent, Unknown
from bot.channels.twilio_messaging import TwilioMessagingAdapter

SID = "AC" + "0" * 32
TOKEN = "test-token"
HI = Outgoing(to="+8801711000001", channel="sms", body="hi")


def _adapter(tw, timeout=10.0):
    a = TwilioMessagingAdapter(SID, TOKEN, "+15005550006", None, api_base=tw.url)
    a.client.http_client.timeout = timeout
    return a


def test_stop_with_a_delayed_answer_in_flight_returns_at_once_and_leaves_no_thread(caplog):
    tw = TwilioDouble(SID, TOKEN).start()
    a = _adapter(tw)
    try:
        assert isinstance(a.send(HI), Sent)  # a kept connection
        before = set(threading.enumerate())
        tw.delay_next(12.0)  # as the module's docstring shows: answered 12 s late
        results = []
        sender = threading.Thread(target=lambda: results.append(a.send(HI)))
        sender.start()
        time.sleep(0.5)  # the request is being held by the double
        caplog.set_level(logging.WARNING, logger="waitress")
        started = time.monotonic()
        tw.stop()
        took = time.monotonic() - started
        sender.join(timeout=15)
        assert results and isinstance(results[0], Unknown)  # its answer never came
        assert took < 1.0, f"stop() took {took:.2f} s"
        assert not [r for r in caplog.records if r.name.startswith("waitress")], caplog.text
        time.sleep(0.2)
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()
                and t is not sender]
        assert not left, left  # no task thread of the stopped double still sleeping
    finally:
        tw.stop()
        a.close()


def test_a_send_after_a_read_timeout_on_a_kept_connection_goes_and_is_classified():
    with TwilioDouble(SID, TOKEN) as tw:
        a = _adapter(tw, timeout=0.5)
        try:
            assert isinstance(a.send(HI), Sent)
            tw.delay_next(1.0)
            assert isinstance(a.send(HI), Unknown)  # Twilio may have it
            assert isinstance(a.send(HI), Sent)  # the next one goes on a fresh connection
            tw.delay_next(1.0, create=False)
            assert isinstance(a.send(HI), Unknown)
            assert isinstance(a.send(HI), Sent)
            time.sleep(1.2)
            assert len(tw.messages()) == 4  # the three sent, and the one answered late
        finally:
            a.close()


def test_a_wake_after_stop_never_writes_into_a_file_that_took_the_triggers_number():
    """A task thread that finishes after stop() wakes the server's loop (server.pull_trigger);
    the loop's trigger pipe is closed by then and its fd number may already belong to another
    file of the process (a database or Redis socket): nothing may be written there."""
    import os

    tw = TwilioDouble(SID, TOKEN).start()
    server = tw._server
    old_fd = server.trigger.trigger  # the write end of the loop's wake-up pipe
    tw.stop()
    r, w = os.pipe()
    try:
        os.dup2(w, old_fd)  # another file now has the number
        server.pull_trigger()  # what an answer finishing after stop() does
        os.set_blocking(r, False)
        try:
            leaked = os.read(r, 100)
        except BlockingIOError:
            leaked = b""
        assert leaked == b""
    finally:
        for fd in {r, w, old_fd}:
            try:
                os.close(fd)
            except OSError:
                pass
