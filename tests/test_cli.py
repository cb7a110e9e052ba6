"""The `sathi` command, run as an operator would."""
import json
import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.config import ROOT
from bot.store.models import Message


def sathi(args, env, cwd=ROOT, input=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd,
                          input=input, capture_output=True, text=True, timeout=timeout)


def embedded_env(tmp_path):
    """A fresh machine's defaults: no DATABASE_URL, no REDIS_URL, no Twilio."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "TWILIO_", "RASA_"))}
    env["SATHI_INSTANCE"] = str(tmp_path / "instance")
    return env


def test_simulate_on_embedded_defaults_prints_replies_with_channel_and_segments(tmp_path):
    env = embedded_env(tmp_path)
    out = sathi(["simulate", "--phone", "01711000001", "--text", "hi", "--text", "২"], env)
    assert out.returncode == 0, out.stderr
    assert "INFO" not in out.stderr  # the terminal shows the chat, not the log
    lines = out.stdout.splitlines()
    assert "demo roster loaded: 5 added" in lines[0]
    assert lines[1] == "> hi"
    assert lines[2].startswith("[sms · 2 segments] রহিমা বেগম,")
    assert lines[3].startswith("[sms · 1 segment] ")
    assert lines[4] == "> ২"
    assert lines[5] == ("[sms · 1 segment] Where should we send your messages? "
                        "Reply 1 for SMS, 2 for WhatsApp.")  # ২ chose English
    # the instance keeps the conversation: the next run continues it
    out = sathi(["simulate", "--phone", "+8801711000001", "--text", "1"], env)
    assert out.returncode == 0, out.stderr
    assert "reply STOP" in out.stdout


def test_simulate_interactive_reads_stdin(tmp_path):
    env = embedded_env(tmp_path)
    out = sathi(["simulate", "--phone", "+8801711000002", "--channel", "whatsapp"], env,
                input="hello\n2\n")
    assert out.returncode == 0, out.stderr
    assert "[whatsapp · " in out.stdout and "Welcome to Shikkhok Sathi, Anjali Das" in out.stdout


def test_simulate_refuses_a_bad_phone(tmp_path):
    out = sathi(["simulate", "--phone", "12", "--text", "hi"], embedded_env(tmp_path))
    assert out.returncode == 2 and "not a valid phone number" in out.stderr


def test_simulate_uses_the_same_path_as_twilio(rt, roster):
    from bot.simulate import say
    replies = say(rt, "+8801711000001", "hi")
    assert len(replies) == 2 and replies[0].status == "sent"
    with rt.db.session() as db:  # recorded as an inbound message, handled by the worker
        msg = db.execute(select(Message).where(Message.direction == "in")).scalar_one()
        assert msg.status == "handled"


def test_roster_import_and_db_upgrade_commands(tmp_path):
    env = embedded_env(tmp_path)
    assert sathi(["db", "upgrade"], env).returncode == 0
    csv = tmp_path / "r.csv"
    csv.write_text("phone,name,role,school_emis,school_name,upazila,district,language,channel\n"
                   "01711000051,Mita,teacher,2001,S,U,D,bn,sms\n"
                   "999,Bad,teacher,2001,S,U,D,bn,sms\n", encoding="utf-8")
    out = sathi(["roster", "import", str(csv)], env)
    assert out.returncode == 1
    assert f"{csv}:3: invalid phone number '999'" in out.stderr
    assert "1 added, 0 updated, 0 unchanged, 1 rejected" in out.stdout


def test_config_lists_every_setting():
    out = CliRunner().invoke(main, ["config"])
    names = [s["env"] for s in json.loads(out.output)]
    for name in ("DATABASE_URL", "REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                 "TWILIO_API_BASE", "TWILIO_SMS_FROM", "TWILIO_WHATSAPP_FROM", "PUBLIC_BASE_URL",
                 "RASA_URL", "TZ"):
        assert name in names


def test_config_shows_the_values_in_effect_and_never_a_secret(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tok-3f9a7c")
    monkeypatch.setenv("REDIS_URL", "redis://:pw-81d2@127.0.0.1:6379/5")
    monkeypatch.setenv("SATHI_SEND_WINDOW", "10:00-18:00")
    out = CliRunner().invoke(main, ["config"])
    assert out.exit_code == 0, out.output
    values = {s["env"]: s["value"] for s in json.loads(out.output)}
    assert values["SATHI_SEND_WINDOW"] == "10:00-18:00"
    assert values["TWILIO_AUTH_TOKEN"] == "(set)"
    assert values["REDIS_URL"] == "redis://:***@127.0.0.1:6379/5"
    assert values["TWILIO_ACCOUNT_SID"] is None
    assert "tok-3f9a7c" not in out.output and "pw-81d2" not in out.output


def test_readme_documents_every_setting_and_the_two_commands():
    from bot.config import documented
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for env, doc in documented():
        assert f"| `{env}` | {doc} |" in readme, env
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci and "scripts/test" in readme and "scripts/serve" in readme
