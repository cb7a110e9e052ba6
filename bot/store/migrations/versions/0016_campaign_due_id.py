"""the due index ends with the row id, so dispatch's claim (ORDER BY planned_at, id LIMIT n)
reads the first n due rows in the index's order instead of sorting every due row each time

Revision ID: 0016
Revises: 0015 (the console's content audit)
Create Date: 2026-12-07 01:40:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_run_due')
        batch_op.create_index('ix_campaign_run_due', ['status', 'planned_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_run_due')
        batch_op.create_index('ix_campaign_run_due', ['status', 'planned_at'], unique=False)
