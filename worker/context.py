"""Per-process worker resources: settings, sessions and the model repository, made once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_session_factory
from core.events import install_event_sinks, make_event_sinks
from core.models_catalog import register_extra_models
from core.settings import Settings
from serving.repository import ModelRepository


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    repository: ModelRepository
    celery: Celery  # to hand a job back to the queue on shutdown


@lru_cache(maxsize=1)
def build_context(settings: Settings, celery: Celery) -> WorkerContext:
    """The context of this worker process (engines are per process, created on first use)."""
    settings.ensure_directories()
    register_extra_models(settings)  # CATGAN_EXTRA_MODELS, as the API registered them
    assert settings.model_repository is not None
    sessions = make_session_factory(make_engine(settings))
    install_event_sinks(sessions, make_event_sinks(settings, celery))  # the job's changes reach its watchers
    return WorkerContext(settings=settings, sessions=sessions,
                         repository=ModelRepository(settings.model_repository), celery=celery)
