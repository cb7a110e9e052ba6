"""campaign rows remember when they were claimed, so a row whose deliver job was lost is found

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
