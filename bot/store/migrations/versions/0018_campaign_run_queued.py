"""an older release's claimed campaign rows ("queued") are found through a partial index: each
dispatch looks for them (bot/campaigns/due.py reclaim), and since 0017 dropped the status index
that look read the whole campaign_run table every 30 s

Revision ID: 0018
Revises: 0017 (campaign rows wait in campaign_due)
Create Date: 2026-12-07 14:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_run_queued', ['claimed_at'], unique=False,
                              postgresql_where=sa.text("status = 'queued'"),
                              sqlite_where=sa.text("status = 'queued'"))


def downgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_run_queued')
