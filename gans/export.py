"""Generators as SavedModels that TF Serving (or plain tf.saved_model.load) can run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

METADATA_FILE = "metadata.json"


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """Map tanh output in [-1, 1] to uint8 [0, 255], rounding to nearest."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


class _GeneratorModule(tf.Module):
    """Hold the generator and its serving function, so the SavedModel owns both."""

    def __init__(self, generator: keras.Model, z_dim: int):
        super().__init__(name="dcgan_generator")
        self.generator = generator
        self.serve = tf.function(
            self._serve, input_signature=[tf.TensorSpec([None, z_dim], tf.float32, name="z")])

    def _serve(self, z: tf.Tensor) -> dict[str, tf.Tensor]:
        """Generate uint8 images (N, H, W, 3) from latents z (N, z_dim)."""
        # training=False: BatchNorm must use its moving statistics, so that one image does not
        # depend on the others in the request.
        return {"images": to_uint8(self.generator(z, training=False))}


def export_generator(generator: keras.Model, export_dir: str | Path, z_dim: int, *,
                     metadata: dict[str, Any] | None = None) -> None:
    """Save generator as a SavedModel with signature serving_default: z -> {"images": uint8}.

    Also writes export_dir/metadata.json: model, image_size, z_dim, channels, plus metadata.
    """
    export_dir = Path(export_dir)
    module = _GeneratorModule(generator, z_dim)
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": module.serve})
    info = {"model": "dcgan", "image_size": int(generator.output_shape[1]), "z_dim": z_dim,
            "channels": int(generator.output_shape[-1]), **(metadata or {})}
    (export_dir / METADATA_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def load_generator(export_dir: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """Load an exported generator as a function z (N, z_dim) float32 -> uint8 (N, H, W, 3)."""
    loaded = tf.saved_model.load(str(export_dir))
    serve = loaded.signatures["serving_default"]

    def generate(z: np.ndarray) -> np.ndarray:
        """Run the serving signature on a batch of latents."""
        # `loaded` is captured so its variables stay alive as long as this function.
        _ = loaded
        return serve(z=tf.convert_to_tensor(z, tf.float32))["images"].numpy()

    return generate


def read_metadata(export_dir: str | Path) -> dict[str, Any]:
    """Return the metadata.json written beside an exported generator."""
    return json.loads((Path(export_dir) / METADATA_FILE).read_text())
