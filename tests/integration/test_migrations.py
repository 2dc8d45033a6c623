"""Migrations are the only way the schema is made: they build it on both engines and match the models."""

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from core.migrate import alembic_config, current_revision, upgrade_database
from core.models import Base
from core.settings import Settings

def _head(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings.db_url)).get_current_head()


TABLES = {
    "alembic_version", "api_keys", "artifacts", "checkpoints", "datasets", "idempotency_keys",
    "jobs", "model_labels", "model_policies", "model_versions", "progress_samples", "webhook_deliveries",
    "webhook_secrets",
}


def test_upgrade_builds_the_schema_the_models_describe(settings: Settings) -> None:
    # the `settings` fixture has already upgraded this fresh database
    engine = create_engine(settings.db_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert current_revision(settings) == _head(settings)


def test_downgrade_then_upgrade_again(settings: Settings) -> None:
    command.downgrade(alembic_config(settings.db_url), "base")
    engine = create_engine(settings.db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade_database(settings)
    assert current_revision(settings) == _head(settings)


def test_0005_keeps_the_newest_row_of_each_artifact_name(settings: Settings) -> None:
    """A database holding rows written again under one name (before 0005) keeps one row per name, the newest."""
    command.downgrade(alembic_config(settings.db_url), "0004")
    engine = create_engine(settings.db_url)
    row = ("INSERT INTO artifacts (id, job_id, kind, name, path, size, sha256, content_type, info, created_at) "
           "VALUES (:id, :job, 'loss_curve', :name, :path, :size, :sha, 'image/png', '{}', '2024-01-01T00:00:00')")
    rows = [(1, 1, "loss-curve.png", 10), (2, 1, "grid.png", 20), (3, 1, "loss-curve.png", 30),
            (4, 2, "loss-curve.png", 40), (5, 1, "loss-curve.png", 50)]
    try:
        with engine.begin() as conn:
            for job in (1, 2):
                conn.execute(text("INSERT INTO jobs (id, type, status, model, params, progress, metrics, "
                                  "cancel_requested, created_at) VALUES (:id, 'train', 'succeeded', 'dcgan', '{}', "
                                  "'{}', '{}', false, '2024-01-01T00:00:00')"), {"id": job})
            for id_, job, name, size in rows:
                conn.execute(text(row), {"id": id_, "job": job, "name": name, "path": f"job-{job}/{name}",
                                         "size": size, "sha": f"{id_:064d}"})
        upgrade_database(settings)
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT id, job_id, name, size FROM artifacts ORDER BY id")).all()
        assert [tuple(r) for r in kept] == [(2, 1, "grid.png", 20), (4, 2, "loss-curve.png", 40),
                                            (5, 1, "loss-curve.png", 50)]
        assert {c["name"] for c in inspect(engine).get_unique_constraints("artifacts")} == {"uq_artifacts_job_id_name"}
    finally:
        engine.dispose()
    assert current_revision(settings) == _head(settings)


def test_0007_records_each_old_versions_kind_and_signature_from_its_model(settings: Settings) -> None:
    """Versions published before 0007 get the kind and signature their exports served, read from their rows."""
    command.downgrade(alembic_config(settings.db_url), "0006")
    engine = create_engine(settings.db_url)
    version = ("INSERT INTO model_versions (id, name, version, model, job_id, path, image_size, z_dim, info, owner, "
               "created_at) VALUES (:id, :name, 1, :model, :job, :path, :size, :z, '{}', 'local', "
               "'2024-01-01T00:00:00')")
    rows = [(1, "dcgan", None, 64, 100), (2, "cgan", 7, 32, 16), (3, "pix2pix", None, 128, 0),
            (4, "keras-gan", 8, 32, 32), (5, "mlp-gan", None, 28, 64)]
    try:
        with engine.begin() as conn:
            for job, params in ((7, '{"channels": 3}'), (8, '{"channels": 1}')):
                conn.execute(text("INSERT INTO jobs (id, type, status, model, params, progress, metrics, "
                                  "cancel_requested, created_at) VALUES (:id, 'train', 'succeeded', 'cgan', :params, "
                                  "'{}', '{}', false, '2024-01-01T00:00:00')"), {"id": job, "params": params})
            for id_, model, job, size, z in rows:
                conn.execute(text(version), {"id": id_, "name": f"m{id_}", "model": model, "job": job,
                                             "path": f"m{id_}/1", "size": size, "z": z})
        upgrade_database(settings)
        with engine.connect() as conn:
            found = {r.id: (r.kind, json.loads(r.signature) if isinstance(r.signature, str) else r.signature)
                     for r in conn.execute(text("SELECT id, kind, signature FROM model_versions"))}
        z = {"name": "z", "dtype": "float32"}
        assert found[1] == ("unconditional", {"key": "serving_default", "inputs": [{**z, "shape": [None, 100]}],
                                              "outputs": [_images(64, 3)]})
        assert found[2] == ("conditional", {"key": "serving_default", "inputs": [
            {**z, "shape": [None, 16]}, {"name": "label", "dtype": "int32", "shape": [None]}],
            "outputs": [_images(32, 3)]})  # channels from its job's params
        assert found[3] == ("image-to-image", {"key": "serving_default", "inputs": [
            {**_images(128, 3), "name": "image"}], "outputs": [_images(128, 3)]})
        assert found[4][0] == "unconditional" and found[4][1]["outputs"] == [_images(32, 1)]
        assert found[5][0] == "unconditional" and found[5][1]["outputs"] == [_images(28, 1)]
        assert {c["name"]: c["nullable"] for c in inspect(engine).get_columns("model_versions")
                if c["name"] in ("kind", "signature")} == {"kind": False, "signature": False}
    finally:
        engine.dispose()
    assert current_revision(settings) == _head(settings)


def _images(size: int, channels: int) -> dict:
    return {"name": "images", "dtype": "uint8", "shape": [None, size, size, channels]}
