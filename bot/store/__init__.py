"""Storage: the SQLAlchemy models (models.py), the database and its sessions (db.py), and the
Alembic migrations (migrations/). Everything that must last lives in SQL; Redis holds only
queues, locks, rates and the NLU breaker.

May import: nothing from the project.
"""
