"""Messages: what happens to a message in and a message out.

    inbound.py    record (once per provider sid), enqueue, handle under the person's lock;
                  flow timeouts (`expire`) and the sweep of what Redis lost
    turn.py       one turn: keywords, assessment entry, numbers, NLU, the flow's events
    replies.py    what the service answers to an understood message no flow waits for
    questions.py  teachers' questions kept for their headteacher
    understood.py what the NLU made of each message in words, for staff to review and label
    outbox.py     store replies, send them in order, retries, fallbacks, status callbacks
    routing.py    which provider carries a message out: Twilio or a gateway of the channels file
    calls.py      calls owed (a campaign's call, a call back), placed by ivr/dialer.py
    spool.py      inbound messages written to disk while the database is down
    session.py    the active flow run, and per-person turn locks in Redis
    ratelimit.py  one send rate per sender number, shared by all workers

May import: config, logs, i18n, parse, store, channels, nlu, assessment, flows, contacts
(consent), and `runtime`
(RQ job functions fetch the running parts with `runtime.current()`).
"""
