"""officers' digests: the weekly figures rollup (per school and per upazila), its refresh
times, answers by time, fortnightly recognition

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'figure',
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['school.id'],
                                name=op.f('fk_figure_school_id_school')),
        sa.PrimaryKeyConstraint('week', 'school_id', 'metric', name=op.f('pk_figure')),
    )
    op.create_table(
        'area_figure',
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('upazila', sa.String(length=100), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('week', 'district', 'upazila', 'metric',
                                name=op.f('pk_area_figure')),
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_created_at'), ['created_at'], unique=False)
    op.create_table(
        'figure_refresh',
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('week', name=op.f('pk_figure_refresh')),
    )
    op.create_table(
        'recognition',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('upazila', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('weeks', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_recognition_person_id_person')),
        sa.ForeignKeyConstraint(['decided_by'], ['person.id'],
                                name=op.f('fk_recognition_decided_by_person')),
        sa.ForeignKeyConstraint(['school_id'], ['school.id'],
                                name=op.f('fk_recognition_school_id_school')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition')),
        sa.UniqueConstraint('district', 'upazila', 'week', 'kind', name='uq_recognition_once'),
    )
    with op.batch_alter_table('recognition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recognition_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recognition_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recognition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recognition_status'))
        batch_op.drop_index(batch_op.f('ix_recognition_person_id'))
    op.drop_table('recognition')
    op.drop_table('figure_refresh')
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_created_at'))
    op.drop_table('area_figure')
    op.drop_table('figure')
