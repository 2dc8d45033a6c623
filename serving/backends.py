"""Generation backends: the SavedModel in this process (`local`) or TensorFlow Serving over gRPC (`tfserving`).

Both call the same `serving_default` signature of the same export, so image i of (version, seed)
is the same bytes whichever runs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRef:
    """A published model version, as either backend addresses it."""

    name: str
    version: int
    export_dir: Path


class GeneratorBackend(Protocol):
    def generate(self, model: ModelRef, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 images (N, H, W, C) from latents (N, z_dim) and, for a conditional model, labels (N,)."""
        ...

    def translate(self, model: ModelRef, images: np.ndarray) -> np.ndarray:
        """uint8 images → uint8 images through an image-to-image model (pix2pix)."""
        ...

    def close(self) -> None: ...


class LocalBackend:
    """The SavedModel loaded in the worker process, cached per version."""

    def generate(self, model: ModelRef, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        from serving.local import generate_images

        return generate_images(str(model.export_dir), z, labels)

    def translate(self, model: ModelRef, images: np.ndarray) -> np.ndarray:
        from serving.local import translate_images

        return translate_images(str(model.export_dir), images)

    def close(self) -> None:
        pass


class TFServingBackend:
    """TF Serving's PredictionService: one channel, binary tensors, waits for a version to be AVAILABLE."""

    def __init__(self, settings: Settings) -> None:
        from serving.tfserving import TFServingClient

        self.client = TFServingClient(settings.serving_address, timeout_seconds=settings.serving_timeout_seconds,
                                      retries=settings.serving_retries,
                                      max_message_bytes=settings.serving_max_message_bytes)
        self.address = settings.serving_address
        self._ready: set[tuple[str, int]] = set()

    def _predict(self, model: ModelRef, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if (model.name, model.version) not in self._ready:
            # a freshly exported version is loading: wait for it rather than fail the job
            self.client.wait_until_available(model.name, model.version)
            self._ready.add((model.name, model.version))
            log.info("drawing from %s version %d through TF Serving at %s", model.name, model.version, self.address)
        return self.client.predict(model.name, inputs, version=model.version)

    def generate(self, model: ModelRef, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        inputs = {"z": np.asarray(z, np.float32)}
        if labels is not None:
            inputs["label"] = np.asarray(labels, np.int32)
        return self._predict(model, inputs)

    def translate(self, model: ModelRef, images: np.ndarray) -> np.ndarray:
        return self._predict(model, {"image": np.asarray(images, np.uint8)})

    def close(self) -> None:
        self.client.close()


def make_backend(settings: Settings) -> GeneratorBackend:
    """The backend `CATGAN_GENERATOR_BACKEND` names."""
    return TFServingBackend(settings) if settings.generator_backend == "tfserving" else LocalBackend()
