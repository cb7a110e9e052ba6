"""Logs never hold a whole phone number or the auth token."""
import logging

from conftest import AUTH_TOKEN

from bot import runtime
from bot.logs import RedactingFormatter, mask, redact
from bot.msgs import inbound

TEACHER = "+8801711000001"


def test_mask_and_redact():
    assert mask(TEACHER) == "+880…001"
    assert mask("whatsapp:" + TEACHER) == "+880…001"
    assert "01711000001" not in redact(f"sent to {TEACHER} and 01711000001")
    assert "s3cr3t" not in redact("auth_token=s3cr3t signature: abc")


def test_the_formatter_redacts_tracebacks_too():
    logger = logging.getLogger("test.redact")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad number {TEACHER}")
        except ValueError:
            logger.exception("failed for %s", TEACHER)
    finally:
        logger.removeHandler(handler)
    text = RedactingFormatter().format(records[0])
    assert "ValueError" in text and TEACHER not in text and TEACHER[1:] not in text
    assert TEACHER in logging.Formatter().format(records[0])  # the record itself is untouched


def test_a_whole_conversation_logs_no_number_or_token(rt, roster, tw, work, twilio, caplog):
    """caplog formats plainly: what the code itself logs must already be masked."""
    with caplog.at_level(logging.DEBUG):
        tw.sms(TEACHER, "hi")
        tw.sms(TEACHER, "hi", sid="SMdup")
        tw.sms(TEACHER, "hi", sid="SMdup")  # logs the duplicate
        tw.post("/twilio/messaging", {"MessageSid": "SMx", "From": TEACHER}, signature="bad")
        work()
        inbound.sweep()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert any("duplicate" in line for line in ours) and any("sent" in line for line in ours)
    text = caplog.text
    assert TEACHER not in text and TEACHER[1:] not in text and "01711000001" not in text
    assert AUTH_TOKEN not in text


def test_json_logs_are_one_masked_object_a_line(monkeypatch):
    import io
    import json

    from bot import logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    try:
        logger.warning("sent to %s", TEACHER)
        try:
            raise ValueError(f"auth_token={AUTH_TOKEN} for {TEACHER}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["level"], e["logger"], e["message"]) for e in lines] == [
        ("WARNING", "test.json", "sent to +880…001"), ("ERROR", "test.json", "failed")]
    assert "ValueError" in lines[1]["exception"]
    text = stream.getvalue()
    assert TEACHER not in text and AUTH_TOKEN not in text and lines[0]["time"].endswith("+00:00")


def test_the_log_format_is_a_setting(monkeypatch):
    from bot.config import Settings

    monkeypatch.setenv("SATHI_LOG_FORMAT", "JSON")
    assert Settings.from_env().log_format == "json"
    monkeypatch.delenv("SATHI_LOG_FORMAT")
    assert Settings.from_env().log_format == "text"


def test_the_worker_logs_what_each_job_did_but_not_how_long_rq_keeps_its_result(rt, tw, caplog):
    """A line a job for its outcome; none for its result's lifespan (inbound jobs keep none)."""
    import worker

    tw.sms("+8801711000009", "hi")
    w = worker.Worker([rt.queue(name) for name in runtime.QUEUES], connection=rt.redis)
    with caplog.at_level(logging.INFO, logger="rq.worker"):
        w.work(burst=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "rq.worker"]
    assert any("Job OK" in line and "in-" in line for line in lines), lines
    assert not any("result is kept" in line or "result discarded" in line for line in lines)
