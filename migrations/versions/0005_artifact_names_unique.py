"""one artifact row per (job, name): duplicates removed (the newest kept), then a unique constraint

Revision ID: 0005
Revises: 0004

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# rows written again under one name (loss-curve.png, grid.png, sample sheets after a resume) share one file,
# which the newest row describes; the older rows answered 409 artifact_corrupted
DEDUPE = sa.text(
    "DELETE FROM artifacts WHERE id NOT IN (SELECT keep FROM (SELECT MAX(id) AS keep FROM artifacts "
    "GROUP BY job_id, name) AS newest)"
)


def upgrade() -> None:
    """Keep the newest row of each (job_id, name) and make the pair unique."""
    op.execute(DEDUPE)
    with op.batch_alter_table('artifacts') as batch_op:
        batch_op.create_unique_constraint('uq_artifacts_job_id_name', ['job_id', 'name'])


def downgrade() -> None:
    """Drop the constraint (the removed duplicates stay removed: they described overwritten files)."""
    with op.batch_alter_table('artifacts') as batch_op:
        batch_op.drop_constraint('uq_artifacts_job_id_name', type_='unique')
