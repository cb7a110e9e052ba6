"""The channels file (SATHI_CHANNELS) as an operator writes it: the issue's example works as
written, the shipped configurations load with their secrets from the environment, and a mistake
stops the service with the file, the line and what is wrong."""
from dataclasses import replace

import pytest
from conftest import CHANNELS

from bot import runtime
from bot.channels.gateway_config import ChannelsFileError, load, parse

ISSUE_EXAMPLE = '''\
channels:
  - name: local
    type: http
    prefixes: ["+880"]            # numbers this channel serves; it wins over Twilio SMS for them
    send:
      url: https://gateway.example/send
      method: POST
      format: form                 # or json
      params: {to: "{to}", text: "{text}", from: "{from}", id: "{id}"}
      headers: {Authorization: "Bearer <token>"}
    receive:
      token: <shared secret>       # required on every inbound request
'''

SECRETS = {"ADNSMS_API_KEY": "k", "ADNSMS_API_SECRET": "s", "BULKSMSBD_API_KEY": "k",
           "BULKSMSBD_SENDER_ID": "8809601000000", "SMSGATE_USERNAME": "u",
           "SMSGATE_PASSWORD": "p", "SMSGATE_WEBHOOK_TOKEN": "t", "SMSGATE_SIGNING_KEY": "k"}


def test_the_issues_example_works_exactly_as_written():
    gateways = parse(ISSUE_EXAMPLE, "example.yaml", env={})
    local = gateways["local"]
    assert local.prefixes == ("+880",) and local.serves("+8801711000001") == 4
    assert local.send.url == "https://gateway.example/send" and local.send.format == "form"
    assert local.send.params == {"to": "{to}", "text": "{text}", "from": "{from}", "id": "{id}"}
    assert local.send.headers == {"Authorization": "Bearer <token>"}
    assert local.receive.token == "<shared secret>"
    # the shipped example is that text, with comments above it
    assert ISSUE_EXAMPLE in (CHANNELS / "example.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name, channel, receives", [
    ("adnsms", "adn", False), ("bulksmsbd", "bulksmsbd", False), ("smsgate", "phone", True)])
def test_shipped_configurations_load_with_secrets_from_the_environment(name, channel, receives):
    gateways = load(CHANNELS / f"{name}.yaml", env=SECRETS)
    gw = gateways[channel]
    assert (gw.receive is not None) == receives
    text = (CHANNELS / f"{name}.yaml").read_text(encoding="utf-8")
    for secret in ("api_key: k", "password: p"):  # no secret is written in the file itself
        assert secret not in text
    assert "${" in text


def test_a_missing_secret_is_refused_with_its_line():
    env = dict(SECRETS)
    del env["ADNSMS_API_SECRET"]
    with pytest.raises(ChannelsFileError) as e:
        load(CHANNELS / "adnsms.yaml", env=env)
    line = next(i for i, t in enumerate((CHANNELS / "adnsms.yaml").read_text().splitlines(), 1)
                if "ADNSMS_API_SECRET}" in t)
    assert str(e.value) == f"{CHANNELS / 'adnsms.yaml'}:{line}: environment variable " \
                           "ADNSMS_API_SECRET is not set"


def test_a_default_and_a_number_from_the_environment():
    text = ISSUE_EXAMPLE.replace("    type: http\n", "    type: http\n    rate: ${RATE:-2}\n")
    assert parse(text, env={})["local"].rate == 2.0
    assert parse(text, env={"RATE": "0.25"})["local"].rate == 0.25
    with pytest.raises(ChannelsFileError, match=r"channels.yaml:4: rate must be a number"):
        parse(text, "channels.yaml", env={"RATE": "fast"})


@pytest.mark.parametrize("change, where, reason", [
    (("    type: http\n", "    type: smpp\n"), 3, "channels/0/type: 'http' was expected"),
    (("name: local", "name: Local Gateway"), 2, "channels/0/name: 'Local Gateway' does not match"),
    (("name: local", "name: twilio"), 2, "the name 'twilio' is taken (reserved: twilio,"),
    (("prefixes: [\"+880\"]", "prefixes: [\"880\"]"), 4, "channels/0/prefixes/0: '880' does not match"),
    (("method: POST", "method: DELETE"), 7, "channels/0/send/method: 'DELETE' is not one of"),
    (("format: form ", "format: xml  "), 8, "channels/0/send/format: 'xml' is not one of"),
    (("id: \"{id}\"", "id: \"{message}\""), 6, "unknown placeholder {message}"),
    (("      token: <shared secret>", "      tokn: <shared secret>"), 12,
     "Additional properties are not allowed ('tokn' was unexpected)"),
    (("    receive:\n      token: <shared secret>       # required on every inbound request\n",
      "    receive: {}\n"), 11, "channels/0/receive: {} is not valid under any of the given"),
])
def test_a_mistake_is_refused_with_file_line_and_reason(change, where, reason):
    text = ISSUE_EXAMPLE.replace(*change)
    assert text != ISSUE_EXAMPLE
    with pytest.raises(ChannelsFileError) as e:
        parse(text, "channels.yaml", env={})
    assert str(e.value).startswith(f"channels.yaml:{where}: "), str(e.value)
    assert reason in str(e.value)


def test_two_channels_with_one_name_are_refused():
    twice = ISSUE_EXAMPLE + ISSUE_EXAMPLE.split("channels:\n", 1)[1]
    with pytest.raises(ChannelsFileError, match=r"channels.yaml:13: channel 'local' is named twice"):
        parse(twice, "channels.yaml", env={})


def test_not_yaml_and_an_empty_file_are_refused(tmp_path):
    with pytest.raises(ChannelsFileError, match=r"c.yaml:3: not valid YAML"):
        parse("channels:\n  - name: [\n", "c.yaml", env={})
    with pytest.raises(ChannelsFileError, match=r"c.yaml:1: the file is empty"):
        parse("", "c.yaml", env={})
    with pytest.raises(ChannelsFileError, match="cannot read the channels file"):
        load(tmp_path / "missing.yaml")


def test_the_service_does_not_start_on_a_broken_channels_file(settings, tmp_path):
    bad = tmp_path / "channels.yaml"
    bad.write_text(ISSUE_EXAMPLE.replace("type: http", "type: carrier-pigeon"), encoding="utf-8")
    with pytest.raises(ChannelsFileError, match=r"channels.yaml:3: "):
        runtime.Runtime(replace(settings, channels_file=bad))


def test_a_lookup_with_an_unknown_placeholder_is_refused_at_its_line():
    text = ISSUE_EXAMPLE + "    lookup: {url: \"https://gateway.example/messages/{message}\"}\n"
    with pytest.raises(ChannelsFileError) as e:
        parse(text, "channels.yaml", env={})
    assert str(e.value).startswith("channels.yaml:13: unknown placeholder {message}"), str(e.value)
    (gw,) = parse(text.replace("{message}", "{id}"), "channels.yaml", env={}).values()
    assert gw.lookup.url == "https://gateway.example/messages/{id}"
    assert gw.lookup.missing_status == (404,)
