"""Generation backends: the SavedModel in this process (`local`) or TensorFlow Serving over gRPC (`tfserving`).

Both call the same signature of the same export with a request built from the model version's recorded
signature (input names and dtypes, gans.contract), so image i of (version, seed) is the same bytes whichever
runs it, and neither knows any model by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from core.settings import Settings
from gans.contract import Signature

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRef:
    """A published model version, as either backend addresses it, with the signature its export serves."""

    name: str
    version: int
    export_dir: Path
    signature: Signature


def build_request(signature: Signature, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return arrays as the signature's inputs, each cast to its declared dtype; ValueError names what is off."""
    if set(arrays) != set(signature.input_names):
        raise ValueError(f"the signature takes inputs {list(signature.input_names)}, not {sorted(arrays)}")
    return {field.name: np.asarray(arrays[field.name], np.dtype(field.dtype)) for field in signature.inputs}


class GeneratorBackend(Protocol):
    def predict(self, model: ModelRef, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """uint8 images (N, H, W, C): the first output of the model's signature on its named inputs."""
        ...

    def close(self) -> None: ...


class LocalBackend:
    """The SavedModel loaded in the worker process, cached per version."""

    def predict(self, model: ModelRef, arrays: dict[str, np.ndarray]) -> np.ndarray:
        from serving.local import predict

        return predict(str(model.export_dir), model.signature, build_request(model.signature, arrays))

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

    def predict(self, model: ModelRef, arrays: dict[str, np.ndarray]) -> np.ndarray:
        if (model.name, model.version) not in self._ready:
            # a freshly exported version is loading: wait for it rather than fail the job
            self.client.wait_until_available(model.name, model.version)
            self._ready.add((model.name, model.version))
            log.info("drawing from %s version %d through TF Serving at %s", model.name, model.version, self.address)
        signature = model.signature
        return self.client.predict(model.name, build_request(signature, arrays), version=model.version,
                                   signature=signature.key, output=signature.outputs[0].name)

    def close(self) -> None:
        self.client.close()


def make_backend(settings: Settings) -> GeneratorBackend:
    """The backend `CATGAN_GENERATOR_BACKEND` names."""
    return TFServingBackend(settings) if settings.generator_backend == "tfserving" else LocalBackend()
