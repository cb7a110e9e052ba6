"""What headteachers and officers are shown of their school or area, and recognition.

    figures.py       a school's week, counted by one query builder (GROUP BY, never per teacher)
    rollup.py        that count kept for every school and upazila, refreshed when stale
    area.py          an upazila's week or a district's month, read from the rollup
    compose.py       what each digest says, piece by piece; text.py packs pieces into pages
    digest.py        a digest written for one person (officer, ambassador, headteacher)
    preparations.py  the digests' campaign preparations; actions.py the officers' replies
    recognition.py   fortnightly nominations, decided by an officer's yes
    jobs.py          cron: send confirmed congratulations; finalise last week's figures; keep
                     the console dashboard's weeks worked out
    export.py        `sathi export weekly`; preview.py `sathi digest preview`

A part not yet recorded (check-ins before the voice calls, coded obstacles) shows as zero or is
left out, never as an error. Who may see what is contacts.jurisdiction's one rule.

May import: config, i18n, store, channels (segment counting), assessment (levels), contacts
(jurisdiction), campaigns (calendar, campaign, cycle's Preparing), flows (the pure engine and
the actions' Context, for a preview), msgs (questions, session, turn, outbox: the congratulation
job), and `runtime` (jobs.py only: nothing the runtime imports imports it).
"""
