"""Flows as data: flows/*.yaml loaded and validated against flow.schema.json (definition.py),
run by a pure engine (engine.py: `start`/`resume` take `now` and return events, no I/O), the
events it returns (events.py), and the registry of named actions a flow may call (actions.py).

May import: i18n, parse, schemas, store, channels (segment counting), assessment, campaigns
(calendar, content, plans, the cycle's queries), contacts (consent); actions get the catalogues, levels, calendar,
content, campaigns and day words through their `Context`, never from the runtime.
"""
