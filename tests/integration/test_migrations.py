"""Migrations are the only way the schema is made: they build it on both engines and match the models."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from core.migrate import alembic_config, current_revision, upgrade_database
from core.models import Base
from core.settings import Settings

TABLES = {
    "alembic_version", "api_keys", "artifacts", "checkpoints", "datasets", "idempotency_keys",
    "jobs", "model_labels", "model_policies", "model_versions",
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
    assert current_revision(settings) == "0004"


def test_downgrade_then_upgrade_again(settings: Settings) -> None:
    command.downgrade(alembic_config(settings.db_url), "base")
    engine = create_engine(settings.db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade_database(settings)
    assert current_revision(settings) == "0004"
