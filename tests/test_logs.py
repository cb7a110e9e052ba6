"""Logs never hold a whole phone number or the auth token."""
import logging

from bot.logs import RedactingFilter, mask, redact
from conftest import AUTH_TOKEN

TEACHER = "+8801711000001"


def test_mask_and_redact():
    assert mask(TEACHER) == "+880…001"
    assert mask("whatsapp:" + TEACHER) == "+880…001"
    assert "01711000001" not in redact(f"sent to {TEACHER} and 01711000001")
    assert "s3cr3t" not in redact("auth_token=s3cr3t signature: abc")


def test_a_whole_conversation_logs_no_number_or_token(rt, roster, tw, work, twilio, caplog):
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG):
        tw.sms(TEACHER, "hi")
        tw.sms(TEACHER, "hi", sid="SMdup")
        tw.sms(TEACHER, "hi", sid="SMdup")
        tw.post("/twilio/messaging", {"MessageSid": "SMx", "From": TEACHER}, signature="bad")
        work()
    text = caplog.text
    assert caplog.records  # something was logged
    assert TEACHER not in text and TEACHER[1:] not in text and "01711000001" not in text
    assert AUTH_TOKEN not in text


def test_our_own_log_lines_mask_before_any_filter(rt, roster, tw, work, caplog):
    """bot.* modules mask numbers themselves; the filter is only the last line of defence."""
    with caplog.at_level(logging.INFO, logger="bot"):
        tw.sms(TEACHER, "hi", sid="SMsame")
        tw.sms(TEACHER, "hi", sid="SMsame")
        work()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert ours and all(TEACHER not in line for line in ours)
