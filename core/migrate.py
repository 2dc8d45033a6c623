"""Run the Alembic migrations: the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from core.settings import Settings


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    """Bring the database at `settings.db_url` to `revision`."""
    settings.home.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.db_url), revision)


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
