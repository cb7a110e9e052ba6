"""Channels: one adapter per provider API. An adapter turns an outgoing message into a request
and the provider's answer into a typed result (base.py: `Sent`, `RetryLater`, `Failed`); what a
result leads to is decided by the outbox, never here.

    base.py              the results and the adapter protocol
    twilio_messaging.py  SMS and WhatsApp through Twilio's Messages API (whatsapp: prefix)
    twilio_voice.py      voice calls through Twilio's Calls API: place, fetch, redirect
    twilio_errors.py     what each Twilio error code means: retry, permanent, opted out
    loopback.py          the local outbox: nothing leaves the machine (no Twilio account)
    simulator.py         the console's phone simulator: replies and calls kept for the page
    signature.py         Twilio's webhook signatures (twilio's RequestValidator)
    segments.py          SMS segments counted as Twilio counts them (GSM-7 / UCS-2)
    gateway_config.py    the channels file (SATHI_CHANNELS): local SMS gateways, configured
    gateway.py           SMS through a configured HTTP gateway, its answers typed
    gateway_webhook.py   a gateway's inbound messages and delivery reports: verified, read

May import: schemas (the channels file is a YAML data file like the flows) and logs (redaction);
nothing else from the project outside this package.
"""
