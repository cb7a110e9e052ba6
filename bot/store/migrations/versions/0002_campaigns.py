"""weekly campaigns: one row per (campaign, week, person), and each teacher's place in the cycle

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'campaign_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign', sa.String(length=16), nullable=False),
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('activity', sa.String(length=16), nullable=True),
        sa.Column('variant', sa.String(length=16), nullable=True),
        sa.Column('note', sa.String(length=32), nullable=True),
        sa.Column('flow_run_id', sa.Integer(), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['flow_run_id'], ['flow_run.id'],
                                name=op.f('fk_campaign_run_flow_run_id_flow_run')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_campaign_run_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_run')),
        sa.UniqueConstraint('campaign', 'week', 'person_id', name='uq_campaign_run_once'),
    )
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_run_due', ['status', 'planned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_run_person_id'), ['person_id'], unique=False)

    op.create_table(
        'cycle',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('missed', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_cycle_person_id_person')),
        sa.PrimaryKeyConstraint('person_id', name=op.f('pk_cycle')),
    )


def downgrade() -> None:
    op.drop_table('cycle')
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_run_person_id'))
        batch_op.drop_index('ix_campaign_run_due')
    op.drop_table('campaign_run')
