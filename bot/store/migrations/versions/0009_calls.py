"""voice calls: calls owed and missed, every try and status, recordings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=40), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=True),
    sa.Column('campaign_run_id', sa.Integer(), nullable=True),
    sa.Column('flow_run_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('api_errors', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('answered_by', sa.String(length=24), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=32), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('prompt', sa.JSON(), nullable=True),
    sa.Column('silences', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_run_id'], ['campaign_run.id'], name=op.f('fk_call_campaign_run_id_campaign_run')),
    sa.ForeignKeyConstraint(['flow_run_id'], ['flow_run.id'], name=op.f('fk_call_flow_run_id_flow_run')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_call_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call')),
    sa.UniqueConstraint('campaign_run_id', name=op.f('uq_call_campaign_run_id')),
    sa.UniqueConstraint('direction', 'provider_sid', name='uq_call_provider_sid')
    )
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index('ix_call_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_person_id'), ['person_id'], unique=False)

    op.create_table('call_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('answered_by', sa.String(length=24), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_call_attempt_call_id_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_attempt'))
    )
    with op.batch_alter_table('call_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_attempt_call_id'), ['call_id'], unique=False)

    op.create_table('recording',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_recording_call_id_call')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_recording_person_id_person')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_recording_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording')),
    sa.UniqueConstraint('provider_sid', name=op.f('uq_recording_provider_sid'))
    )
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_school_id'), ['school_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_school_id'))
        batch_op.drop_index(batch_op.f('ix_recording_person_id'))
        batch_op.drop_index(batch_op.f('ix_recording_call_id'))

    op.drop_table('recording')
    with op.batch_alter_table('call_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_attempt_call_id'))

    op.drop_table('call_attempt')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_person_id'))
        batch_op.drop_index('ix_call_due')

    op.drop_table('call')
