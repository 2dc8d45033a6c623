"""Alembic environment: the URL comes from the settings, the metadata from core.models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from core.models import Base
from core.settings import Settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    """The URL given by the caller (core.migrate), else the settings'."""
    return config.get_main_option("sqlalchemy.url") or Settings().db_url


def _configure(connection: Connection | None = None) -> None:
    """Shared options: batch mode lets SQLite alter tables."""
    kwargs = {"target_metadata": target_metadata, "render_as_batch": True, "compare_type": True}
    if connection is None:
        context.configure(url=_url(), literal_binds=True, **kwargs)
    else:
        context.configure(connection=connection, **kwargs)


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    _configure()
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database (an existing connection if the caller passed one)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
