"""headteachers' weekly check-ins: one row per school and week

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'checkin',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('meeting', sa.Boolean(), nullable=True),
        sa.Column('practised', sa.Boolean(), nullable=True),
        sa.Column('walks', sa.Integer(), nullable=True),
        sa.Column('foundation_lessons', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_checkin_person_id_person')),
        sa.ForeignKeyConstraint(['school_id'], ['school.id'],
                                name=op.f('fk_checkin_school_id_school')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
        sa.UniqueConstraint('school_id', 'week', name='uq_checkin_school_week'),
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_person_id'))
    op.drop_table('checkin')
