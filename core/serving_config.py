"""TF Serving's `models.config`, rendered from the database: every model name, its served versions, its labels.

The database owns pins and labels; the file is their projection for TF Serving (and `catgan serving`).
Writers (a worker publishing, the API relabelling) hold one file lock from rendering until their
transaction commits, so a later writer always renders what an earlier one committed.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.text_encoding import CEscape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.models import ModelLabel, ModelPolicy, ModelVersion
from core.settings import Settings
from core.storage import write_atomic

CONFIG_NAME = "models.config"
LOCK_NAME = ".models.config.lock"


@dataclass(frozen=True)
class ServedModel:
    """One `config` entry: a model name, its pinned versions (None: all) and its labels."""

    name: str
    pinned: tuple[int, ...] | None
    labels: tuple[tuple[str, int], ...]


def render_models_config(base_root: Path, models: list[ServedModel]) -> str:
    """A `model_config_list` in protobuf text format (every string escaped: no name or path can break the file)."""
    return f"model_config_list {{\n{''.join(_render_entry(base_root, m) for m in models)}}}\n"


def _render_entry(base_root: Path, model: ServedModel) -> str:
    if model.pinned is None:
        policy = "all {}"  # every version stays loadable: old generate jobs name their exact version
    else:
        policy = "specific { " + " ".join(f"versions: {v}" for v in model.pinned) + " }"
    labels = "".join(f'    version_labels {{ key: {_quoted(label)} value: {version} }}\n'
                     for label, version in model.labels)
    return (f'  config {{\n    name: {_quoted(model.name)}\n    base_path: {_quoted(str(base_root / model.name))}\n'
            f'    model_platform: "tensorflow"\n    model_version_policy {{ {policy} }}\n{labels}  }}\n')


def _quoted(text: str) -> str:
    """A protobuf text-format string literal: quotes, backslashes, control and non-ASCII bytes escaped."""
    return f'"{CEscape(text, as_utf8=False)}"'


def served_models(session: Session) -> list[ServedModel]:
    """What the database says should be served, by name."""
    names = sorted(set(session.scalars(select(ModelVersion.name))))
    policies = {p.name: p.versions for p in session.scalars(select(ModelPolicy))}
    labels: dict[str, list[tuple[str, int]]] = {}
    for row in session.scalars(select(ModelLabel).order_by(ModelLabel.name, ModelLabel.label)):
        labels.setdefault(row.name, []).append((row.label, row.version))
    return [ServedModel(name, tuple(sorted(policies[name])) if policies.get(name) is not None else None,
                        tuple(labels.get(name, ()))) for name in names]


def config_path(settings: Settings) -> Path:
    assert settings.model_repository is not None
    return settings.model_repository / CONFIG_NAME


def write_models_config(session: Session, settings: Settings) -> None:
    """Render the session's view of the models and replace `models.config` atomically."""
    assert settings.model_repository is not None
    base_root = settings.serving_model_base_path or settings.model_repository
    write_atomic(config_path(settings), render_models_config(base_root, served_models(session)).encode())


@contextmanager
def models_config_lock(settings: Settings) -> Iterator[None]:
    """Serialize config writers across processes (hold it until the writing transaction commits)."""
    assert settings.model_repository is not None
    settings.model_repository.mkdir(parents=True, exist_ok=True)
    with (settings.model_repository / LOCK_NAME).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def render_committed(factory: sessionmaker[Session], settings: Settings) -> None:
    """Rewrite `models.config` from what the database has committed (the caller holds the config lock)."""
    with factory() as session:
        write_models_config(session, settings)


@contextmanager
def serving_change(factory: sessionmaker[Session], settings: Settings) -> Iterator[Session]:
    """A transaction that changes what is served (labels, pins): committed under the config lock, then rendered.

    The file is rendered after the commit, so it never shows what the database did not keep; the lock makes a later
    writer render what an earlier one committed.
    """
    with models_config_lock(settings):
        with session_scope(factory) as session:
            yield session
        render_committed(factory, settings)
