"""model versions record their kind and serving signature (what the model declared), old rows backfilled

Revision ID: 0007
Revises: 0006

"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the models and exports as they were when this migration was written, not the registry of today
# (which may change or grow). Each is (kind, channels unless the job's params say, inputs).
KINDS: dict[str, tuple[str, int, str]] = {
    "dcgan": ("unconditional", 3, "z"),
    "keras-gan": ("unconditional", 3, "z"),
    "mlp-gan": ("unconditional", 1, "z"),
    "cgan": ("conditional", 1, "z+label"),
    "pix2pix": ("image-to-image", 3, "image"),
}

versions = sa.table("model_versions", sa.column("id", sa.Integer), sa.column("model", sa.String),
                    sa.column("job_id", sa.Integer), sa.column("image_size", sa.Integer),
                    sa.column("z_dim", sa.Integer), sa.column("kind", sa.String), sa.column("signature", sa.JSON))
jobs = sa.table("jobs", sa.column("id", sa.Integer), sa.column("params", sa.JSON))


def upgrade() -> None:
    """Add kind and signature, fill them for every row from its model, sizes and job, then make them required."""
    with op.batch_alter_table('model_versions') as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('signature', sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(versions.c.id, versions.c.model, versions.c.image_size, versions.c.z_dim, jobs.c.params)
        .select_from(versions.outerjoin(jobs, jobs.c.id == versions.c.job_id))).all()
    for id_, model, image_size, z_dim, params in rows:
        kind, signature = backfill(model, image_size, z_dim, params or {})
        connection.execute(versions.update().where(versions.c.id == id_).values(kind=kind, signature=signature))
    with op.batch_alter_table('model_versions') as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('signature', existing_type=sa.JSON(), nullable=False)


def backfill(model: str, image_size: int, z_dim: int, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the kind and signature an export of `model` at the time served (an unknown model: by its z_dim)."""
    default = ("unconditional", 3, "z") if z_dim else ("image-to-image", 3, "image")
    kind, channels, inputs = KINDS.get(model, default)
    channels = int(params.get("channels", channels))  # keras-gan and cgan had a `channels` param
    images = {"name": "images", "dtype": "uint8", "shape": [None, image_size, image_size, channels]}
    fields = {"z": [{"name": "z", "dtype": "float32", "shape": [None, z_dim]}],
              "z+label": [{"name": "z", "dtype": "float32", "shape": [None, z_dim]},
                          {"name": "label", "dtype": "int32", "shape": [None]}],
              "image": [{**images, "name": "image"}]}[inputs]
    return kind, {"key": "serving_default", "inputs": fields, "outputs": [images]}


def downgrade() -> None:
    """Drop both columns (the model column still names the model)."""
    with op.batch_alter_table('model_versions') as batch_op:
        batch_op.drop_column('signature')
        batch_op.drop_column('kind')
