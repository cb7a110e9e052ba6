"""Schedules as data: what goes out to whom, and when.

    calendar.py   school days (Sunday-Thursday, Asia/Dhaka), holidays, the sending window, weeks
    content.py    the activities and leadership tips (flows/content/) and the content lint
    campaign.py   campaigns as data (flows/campaigns.yaml): audience, cadence, day rule, time
    fanout.py     plan rows per (campaign, period, person), dispatch what is due, deliver it

May import: config, i18n, schemas, channels (segment counting), store, contacts (jurisdiction:
an audience's `area`), assessment (levels, for the preparations), msgs (a turn, the outbox), and
`runtime` (the fan-out's RQ jobs fetch the running parts with `runtime.current()`).
"""
