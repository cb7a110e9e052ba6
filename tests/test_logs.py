"""Logs never hold a whole phone number or the auth token."""
import logging

from conftest import AUTH_TOKEN

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
