"""The privacy scan (tests/privacy.py, run by conftest.py on the logs of every test run) finds
what it must, and an SQL error's traceback carries no message body."""
import logging

import pytest
from sqlalchemy.exc import IntegrityError

from bot import logs
from bot.store.models import Message
from privacy import scan

BODY = "আমার ক্লাসের শিশুরা যোগ শিখেছে"


def test_the_scan_finds_numbers_bodies_and_tokens(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("\n".join([
        "INFO bot.msgs.outbox: message 4 to +880…001: sent",  # masked: fine
        "INFO rq.worker: Worker 01712345678abc017123456789: started",  # a hex id: fine
        "ERROR something: sent to 01711000001",
        "ERROR something: whatsapp:+8801711000002 failed",
        f"ERROR sqlalchemy: [parameters: ('{BODY}',)]",
        "DEBUG twilio: auth_token=not-a-secret-token",
    ]), encoding="utf-8")
    found = [(leak.line, leak.what) for leak in scan([log], {BODY, "hi"}, {"not-a-secret-token"})]
    assert found == [(3, "phone"), (4, "phone"), (5, "body"), (6, "token")]


def test_an_sql_error_logged_with_its_traceback_holds_no_body(rt, caplog):
    with pytest.raises(IntegrityError) as err:
        with rt.db.session() as db:
            db.add(Message(direction=None, channel="sms", address="+8801711000001", body=BODY,
                           status="received", attempts=0, created_at=rt.now(),
                           updated_at=rt.now()))
    assert BODY not in str(err.value)
    logger = logging.getLogger("test.privacy")
    with caplog.at_level(logging.ERROR, logger="test.privacy"):
        try:
            raise err.value
        except IntegrityError:
            logger.exception("could not record a message")
    text = logs.formatter("text").format(caplog.records[-1])
    assert "IntegrityError" in text and BODY not in text and "01711000001" not in text
