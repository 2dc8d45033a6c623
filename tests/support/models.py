"""Publish tiny real SavedModel generators into a deployment, without training (fast fixtures)."""

from __future__ import annotations

from pathlib import Path

from core.db import make_engine, make_session_factory, session_scope
from core.services import models
from core.serving_config import config_path, models_config_lock, write_models_config
from core.settings import Settings
from gans.config import latent_signature
from gans.contract import ModelKind, make_record
from gans.registry import declaration, make_config
from serving.repository import ModelRepository
from tests.support.auth import TEST_OWNER


def served_base_paths(settings: Settings) -> dict[str, str]:
    """name → base_path of models.config as TF Serving's own proto parses it ({} while there is none).

    Read under the writers' lock: a worker commits a version (and its job's success) holding that lock and renders
    the file before letting go, so a job seen succeeded is in what this reads."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    with models_config_lock(settings):
        if not config_path(settings).exists():
            return {}
        parsed = text_format.Parse(config_path(settings).read_text(), model_server_config_pb2.ModelServerConfig())
    return {c.name: c.base_path for c in parsed.model_config_list.config}


def declared_record(model: str, **params: object) -> dict:
    """What a train job of `model` with these params records on its version (kind, signature, sizes, classes)."""
    found = declaration(model)
    return found.record(make_config(found, params))


def export_tiny_generator(directory: Path, *, seed: int = 0, z_dim: int = 8, size: int = 16,
                          constant: bool = False) -> None:
    """A real `serving_default` export: z (N, z_dim) → uint8 (N, size, size, 3); `constant` ignores z."""
    import keras

    from gans.export import export_generator

    keras.utils.set_random_seed(seed)
    kernel = "zeros" if constant else "glorot_uniform"
    generator = keras.Sequential([
        keras.Input((z_dim,)),
        keras.layers.Dense(8 * 8 * 4, kernel_initializer=kernel, bias_initializer="random_normal"),
        keras.layers.Reshape((8, 8, 4)),
        keras.layers.Conv2DTranspose(3, 4, strides=size // 8, padding="same", activation="tanh",
                                     kernel_initializer=kernel, bias_initializer="random_normal"),
    ])
    export_generator(generator, directory, z_dim)


def publish_tiny_generator(settings: Settings, name: str, *, seed: int = 0, z_dim: int = 8, size: int = 16,
                           constant: bool = False, owner: str = TEST_OWNER) -> int:
    """Export a tiny generator as the next version of `name` for `owner`, as a train job would; its model version
    id."""
    assert settings.model_repository is not None
    repository = ModelRepository(settings.model_repository)
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    try:
        with session_scope(sessions) as session:
            version = models.next_version_number(session=session, name=name)
        target = repository.publish(name, version, lambda d: export_tiny_generator(
            d, seed=seed, z_dim=z_dim, size=size, constant=constant))
        with models_config_lock(settings), session_scope(sessions) as session:
            record = models.create_model_version(
                session=session, name=name, version=version, model="dcgan", job_id=None,
                path=str(target.relative_to(repository.root)), info={"step": 0}, owner=owner,
                record=make_record(ModelKind.UNCONDITIONAL, latent_signature(z_dim, size, 3)))
            write_models_config(session, settings)
            return record.id
    finally:
        engine.dispose()
