"""Schedules as data: what goes out to whom, and when.

    calendar.py   school days (Sunday-Thursday, Asia/Dhaka), holidays, the sending window, weeks
    content.py    the activities and leadership tips (flows/content/) and the content lint
    spreadsheet.py  the modules and activities as a CSV the programme team fills in
    campaign.py   campaigns as data (flows/campaigns.yaml): audience, cadence, day rule, time
    cycle.py      preparations: this week's activity (by need), an invitation's text version,
                  the monthly re-assessment and partner, the fortnightly story
    plans.py      a teacher's plan for the week ("ক্লাস ২ বুধবার") and the reminder it moves
    fanout.py     plan rows per (campaign, period, person), dispatch what is due, deliver it

May import: config, i18n, schemas, channels (segment counting), store, contacts (jurisdiction:
an audience's `area`, a story's upazila), assessment (levels, records), flows (definition: a
flow's message keys), msgs (a turn, the outbox, sessions, calls owed), digests (a school's
week), and `runtime` (the fan-out's RQ jobs fetch the running parts with `runtime.current()`).
"""
