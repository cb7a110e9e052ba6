"""campaign_claim ids are never given again on SQLite (AUTOINCREMENT; PostgreSQL's sequence never
goes back): a deliver job that runs after its claim was reclaimed releases its claim by id, and
with the highest id reused it released a later batch's claim, whose rows, were that batch's job
lost too, never went

Revision ID: 0019
Revises: 0018 (a partial index on an older release's queued rows)
Create Date: 2026-12-07 14:10:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('campaign_claim', recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('campaign_claim', recreate='always',
                                  table_kwargs={'sqlite_autoincrement': False}):
            pass
