"""progress samples: every recorded progress of a train job (losses, speed, SWD), for its curves

Revision ID: 0006
Revises: 0005

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table, indexed by (job, step) for a job's history in order."""
    op.create_table(
        'progress_samples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('epoch', sa.Integer(), nullable=True),
        sa.Column('g_loss', sa.Float(), nullable=True),
        sa.Column('d_loss', sa.Float(), nullable=True),
        sa.Column('images_per_second', sa.Float(), nullable=True),
        sa.Column('swd', sa.Float(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_progress_samples_job_id_step', 'progress_samples', ['job_id', 'step'])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index('ix_progress_samples_job_id_step', table_name='progress_samples')
    op.drop_table('progress_samples')
