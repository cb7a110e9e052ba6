"""delivery attempts: every send try and status report of an outbound message

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The attempt log of the outbound pipeline."""
    op.create_table('delivery_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('related_message_id', sa.Integer(), nullable=True),
    sa.Column('once', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_delivery_attempt_message_id_message')),
    sa.ForeignKeyConstraint(['related_message_id'], ['message.id'], name=op.f('fk_delivery_attempt_related_message_id_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempt')),
    sa.UniqueConstraint('once', name=op.f('uq_delivery_attempt_once'))
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    """Drop the attempt log."""
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_message_id'))

    op.drop_table('delivery_attempt')
