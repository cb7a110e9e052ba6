"""`sathi channels check` and `sathi simulate --channel <gateway>`, run as an operator would."""
import os

from click.testing import CliRunner
from conftest import CHANNELS
from gateway_doubles import SmsGateDouble
from test_cli import embedded_env, sathi

from bot.cli import main

SECRETS = {"SMSGATE_USERNAME": SmsGateDouble.USER, "SMSGATE_PASSWORD": SmsGateDouble.PASSWORD,
           "SMSGATE_WEBHOOK_TOKEN": "webhook-token-123", "SMSGATE_SIGNING_KEY": "signing-key-456"}


def check(args, **env):
    env = {"SATHI_CHANNELS": str(CHANNELS / "smsgate.yaml"), "TWILIO_ACCOUNT_SID": "",
           "PUBLIC_BASE_URL": "https://sathi.example.org", **SECRETS, **env}
    return CliRunner().invoke(main, ["channels", "check", *args], env=env)


def test_check_lists_the_channels_and_what_to_set_up_at_the_gateway():
    out = check([])
    assert out.exit_code == 0, out.output
    assert "twilio: not configured" in out.output
    assert "phone: an Android phone running SMS Gateway for Android, two-way" in out.output
    assert "send: POST https://api.sms-gate.app/3rdparty/v1/messages (json)" in out.output
    assert "receive (token + HMAC): https://sathi.example.org/sms/phone/receive" in out.output
    assert "delivery reports: https://sathi.example.org/sms/phone/status" in out.output
    assert "1 channel(s), valid" in out.output
    for secret in SECRETS.values():
        assert secret not in out.output


def test_check_refuses_a_broken_file_with_its_line(tmp_path):
    bad = tmp_path / "channels.yaml"
    bad.write_text((CHANNELS / "smsgate.yaml").read_text().replace("format: json\n      basic",
                                                                     "format: xml\n      basic"))
    line = bad.read_text().splitlines().index("      format: xml") + 1
    out = check([], SATHI_CHANNELS=str(bad))
    assert out.exit_code == 1
    assert f"{bad}:{line}: channels/0/send/format: 'xml' is not one of" in out.output


def test_check_warns_about_plain_http():
    out = check([], PUBLIC_BASE_URL="http://sathi.example.org")
    assert out.exit_code == 0
    assert "warning: phone: PUBLIC_BASE_URL is not https" in out.output


def test_check_sends_a_test_sms_and_prints_the_gateways_answer():
    with SmsGateDouble() as double:
        url = double.url + SmsGateDouble.BASE
        out = check(["--to", "01711000001", "--channel", "phone"], SMSGATE_URL=url)
        assert out.exit_code == 0, out.output
        (sent,) = double.sent()
        assert sent["to"] == "+8801711000001" and sent["text"].startswith("শিক্ষক সাথীর পরীক্ষামূলক")
        assert f"test SMS to +8801711000001 via phone (1 segment, UCS-2): Sent(sid='phone:{sent['id']}')" \
            in out.output
        out = check(["--to", "+8801711000001", "--channel", "phone"], SMSGATE_URL=url,
                    SMSGATE_PASSWORD="wrong")
        assert out.exit_code == 1
        assert "Failed(code=401, permanent=True, reason='Unauthorized'" in out.output
    out = check(["--to", "+8801711000001", "--channel", "nowhere"])
    assert out.exit_code == 2 and "no channel 'nowhere' can send" in out.output


def test_simulate_talks_through_a_gateway_and_texts_no_one(tmp_path):
    with SmsGateDouble() as double:
        env = {**embedded_env(tmp_path), **SECRETS, "SATHI_CHANNELS": str(CHANNELS / "smsgate.yaml"),
               "SMSGATE_URL": double.url + SmsGateDouble.BASE}
        out = sathi(["simulate", "--phone", "01711000001", "--channel", "phone", "--text", "hi"], env)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[1] == "> hi"
        assert lines[2].startswith("[sms via phone · 2 segments] রহিমা বেগম,")
        assert lines[3].startswith("[sms via phone · 1 segment] ")
        assert double.requests == []  # the simulator's replies stay in the local outbox
        out = sathi(["simulate", "--phone", "01711000001", "--channel", "fax", "--text", "hi"], env)
        assert out.returncode == 2 and "'fax' is not sms, whatsapp or a channel that receives (phone)" \
            in out.stderr
    assert "SATHI_CHANNELS" not in os.environ
