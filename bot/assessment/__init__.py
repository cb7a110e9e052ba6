"""Five-learner checks: compact and guided entry parsing (entry.py), the level scale from
flows/assessment/levels.yaml (levels.py), and saved records, change since last time, per-school
and per-upazila aggregates and the CSV export (records.py). No learner's name is ever stored.

May import: i18n, schemas, store.
"""
