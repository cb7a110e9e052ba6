"""the console's content edits: the texts laid over the shipped files, and who changed what when

Revision ID: 0015
Revises: 0014 (the console's accounts)
Create Date: 2026-12-06 22:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'content_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('item', sa.String(length=100), nullable=False),
        sa.Column('field', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=False),
        sa.Column('who', sa.String(length=254), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_content_audit')),
    )
    with op.batch_alter_table('content_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_audit_at'), ['at'], unique=False)
    op.create_table(
        'content_edit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('item', sa.String(length=100), nullable=False),
        sa.Column('field', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('audit_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_content_edit')),
        sa.UniqueConstraint('kind', 'item', 'field', 'language', name='uq_content_edit_text'),
    )


def downgrade() -> None:
    op.drop_table('content_edit')
    with op.batch_alter_table('content_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_audit_at'))
    op.drop_table('content_audit')
