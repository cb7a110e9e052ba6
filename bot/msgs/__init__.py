"""Messages: what happens to a message in and a message out.

    intake.py     what any channel's webhook hands in, checked and cleaned (400 when it cannot be)
    inbound.py    record (once per provider sid), enqueue, handle under the person's lock;
                  flow timeouts (`expire`) and the sweep of what Redis lost
    abuse.py      a sender's flood, a reply loop with another bot: counted, held back
    turn.py       one turn: keywords, assessment entry, numbers, NLU, the flow's events
    replies.py    what the service answers to an understood message no flow waits for
    questions.py  teachers' questions kept for their headteacher
    understood.py what the NLU made of each message in words, for staff to review and label
    outbox.py     store replies, send each person's in order, retries, fallbacks, status
                  callbacks, and the reconciliation of a send whose outcome is unknown
    routing.py    which provider carries a message out: Twilio or a gateway of the channels file
    calls.py      calls owed (a campaign's call, a call back), placed by ivr/dialer.py
    spool.py      what a webhook took, kept on disk while storage is down: `take` records or
                  spools (the spool-or-reject decision); the web process replays it
    session.py    the active flow run, and per-person turn locks in Redis
    ratelimit.py  one send rate per sender number, shared by all workers

May import: config, logs, metrics, i18n, parse, store, channels, nlu, assessment, flows,
contacts (consent), and `runtime`
(RQ job functions fetch the running parts with `runtime.current()`).
"""
