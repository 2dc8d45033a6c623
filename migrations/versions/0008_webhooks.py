"""webhooks: a job's webhook, owners' signing secrets, and every delivery attempt

Revision ID: 0008
Revises: 0007

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add jobs.webhook and create the secrets and deliveries tables."""
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('webhook', sa.JSON(), nullable=True))
    op.create_table(
        'webhook_secrets',
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('owner'),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('duration_ms', sa.Float(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_deliveries_job_id_id', 'webhook_deliveries', ['job_id', 'id'])


def downgrade() -> None:
    """Drop the tables and the column."""
    op.drop_index('ix_webhook_deliveries_job_id_id', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_secrets')
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('webhook')
