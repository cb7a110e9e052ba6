"""assessments: a teacher's quick assessment of five learners (slot and level, no names)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:20:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('upazila', sa.String(length=100), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_assessment_person_id_person')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_assessment_school_id_school')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment'))
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_taken_at'), ['taken_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_upazila'), ['upazila'], unique=False)

    op.create_table('assessment_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_assessment_result_assessment_id_assessment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_result')),
    sa.UniqueConstraint('assessment_id', 'slot', name='uq_assessment_result_slot')
    )
    with op.batch_alter_table('assessment_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_result_assessment_id'), ['assessment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessment_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_result_assessment_id'))
    op.drop_table('assessment_result')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_upazila'))
        batch_op.drop_index(batch_op.f('ix_assessment_taken_at'))
        batch_op.drop_index(batch_op.f('ix_assessment_school_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_person_id'))
    op.drop_table('assessment')
