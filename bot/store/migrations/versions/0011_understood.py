"""what the NLU understood of each inbound message, for the review loop

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 08:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('understood',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=32), nullable=True),
    sa.Column('guess', sa.String(length=32), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('runner_up', sa.String(length=32), nullable=True),
    sa.Column('runner_up_confidence', sa.Float(), nullable=True),
    sa.Column('bar', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_understood_message_id_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_understood')),
    sa.UniqueConstraint('message_id', name=op.f('uq_understood_message_id'))
    )
    with op.batch_alter_table('understood', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_understood_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('understood', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_understood_created_at'))
    op.drop_table('understood')
