"""Shikkhok Sathi: Bangla SMS, WhatsApp and voice follow-up for AGS maths teachers.

A newcomer finds a behaviour by its folder; each package's docstring says what it owns and what
it may import, and tests/test_layout.py checks both that no package imports more than its
docstring allows and that no modules import each other in a circle. Roughly from the bottom up
(campaigns holds both data the others read, such as the calendar and content, and the fan-out
that uses msgs, so the packages are not strictly layered; the modules are):

    config, logs, metrics, i18n, parse, schemas   settings, log masking and format, counters in
                                         Redis for /metrics, catalogues, keywords and numbers,
                                         YAML + JSON Schema data files        (import no package)
    store/       SQLAlchemy models, the database, Alembic migrations
    contacts/    who the service talks to: roster import, phone numbers, jurisdictions
    channels/    one adapter per provider; segment counting; webhook signatures
    nlu/         understanding free text: Rasa client, embedded classifier, evaluation
    assessment/  five-learner checks: compact entry, levels, saved records and aggregates
    flows/       flows as data: definition, the pure engine, its events, named actions
    campaigns/   schedules as data: calendar, content, campaign definitions, fan-out
    msgs/        a message in, a turn, a message out: inbound, turn, outbox, spool, locks, rates
    digests/     officers' and headteachers' summaries, the weekly figures, recognition
    runtime      the composition root: builds the parts once per process from Settings
    web, schedule, simulate, cli   the webhooks, the cron jobs, the simulator, the `sathi` command

Nothing that `runtime` imports imports `runtime`: RQ job functions (in msgs/, campaigns/, digests/)
and the web and CLI entry points fetch the running parts with `runtime.current()`.
"""
