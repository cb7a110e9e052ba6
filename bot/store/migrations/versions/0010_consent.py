"""consent: when, on which channel and to which invitation text a person said yes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'consent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.Column('campaign', sa.String(length=16), nullable=True),
        sa.Column('text_version', sa.String(length=16), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['campaign_run.id'],
                                name=op.f('fk_consent_invitation_id_campaign_run')),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'],
                                name=op.f('fk_consent_message_id_message')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_consent_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_person_id'))
    op.drop_table('consent')
