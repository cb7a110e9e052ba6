"""campaign rows wait in a narrow campaign_due table, claimed by deleting them, and each claimed
batch is a campaign_claim row: a claim no longer rewrites the wide campaign_run row and its
four indexes (bot/campaigns/due.py), and campaign_run loses the status index only claims used

Rows an older release planned become due; rows it had claimed ("queued") become due again too,
so a job of the older release that runs late finds them due and leaves them (sent once).

Revision ID: 0017
Revises: 0016 (the due index ends with the row id)
Create Date: 2026-12-07 13:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'campaign_due',
        sa.Column('run_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('campaign', sa.String(length=16), nullable=False),
        sa.Column('week', sa.String(length=8), nullable=False),
        sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('run_id', name=op.f('pk_campaign_due')),
    )
    op.create_index('ix_campaign_due_order', 'campaign_due', ['planned_at', 'run_id'],
                    unique=False)
    op.create_table(
        'campaign_claim',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('run_ids', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_claim')),
        # an id is never given again, on SQLite too (models.CampaignClaim)
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_campaign_claim_claimed_at'), 'campaign_claim', ['claimed_at'],
                    unique=False)
    op.execute("UPDATE campaign_run SET status = 'planned' WHERE status = 'queued'")
    op.execute("INSERT INTO campaign_due (run_id, campaign, week, planned_at) "
               "SELECT id, campaign, week, planned_at FROM campaign_run "
               "WHERE status = 'planned'")
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_run_due')


def downgrade() -> None:
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_run_due', ['status', 'planned_at', 'id'], unique=False)
    # claimed rows (planned, not due) go back to the older release's "queued"; NOT EXISTS, an
    # anti-join: PostgreSQL runs `NOT IN (SELECT ..)` as a scan of the whole subquery for each
    # row once the due ids outgrow work_mem (2M rows, 1M due: still running after 6 minutes)
    op.execute("UPDATE campaign_run SET status = 'queued', claimed_at = CURRENT_TIMESTAMP "
               "WHERE status = 'planned' AND NOT EXISTS (SELECT 1 FROM campaign_due "
               "WHERE campaign_due.run_id = campaign_run.id)")
    op.drop_index(op.f('ix_campaign_claim_claimed_at'), table_name='campaign_claim')
    op.drop_table('campaign_claim')
    op.drop_index('ix_campaign_due_order', table_name='campaign_due')
    op.drop_table('campaign_due')
