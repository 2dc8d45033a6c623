"""dataset faces: the finder's counts of a face dataset (photos with and without a face)

Revision ID: 0009
Revises: 0008

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add datasets.faces (NULL for datasets of the images as they came)."""
    with op.batch_alter_table('datasets') as batch:
        batch.add_column(sa.Column('faces', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop datasets.faces."""
    with op.batch_alter_table('datasets') as batch:
        batch.drop_column('faces')
