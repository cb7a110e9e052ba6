"""Voice: calls placed and answered, run by the same YAML flows through the same pure engine.

    web.py           the voice webhooks (a blueprint): answer, gather, record, status, AMD;
                     recorded prompts served for <Play>
    conversation.py  a call's turns inline: the flow started or resumed, input understood,
                     the next step's TwiML
    twiml.py         prompts and what comes next, as TwiML (pure: twilio's VoiceResponse)
    prompts.py       a key as a recording or as Bangla (or English) speech; ivr's own keys; the
                     recording script
    speech.py        numbers as Bangla words, text made speakable, spoken answers understood
    dialer.py        calls placed at one rate per caller number, inside the window, retried on
                     the schedule; status callbacks and answering machines
    callback.py      missed calls: rejected for free, called back with a menu
    urls.py          the webhook URLs a call carries
    cli.py           `sathi prompts script|check`

May import: anything in bot/ (config, i18n, parse, store, channels, flows, campaigns, msgs,
digests, contacts, runtime). Nothing in bot/ imports ivr, except the entry points that wire it
in: app.py (the blueprint), bot/schedule.py (the cron jobs) and bot/cli.py (the commands).
"""
