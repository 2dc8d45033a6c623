"""Models as SavedModels that TF Serving (or plain tf.saved_model.load) can run, serving their declared signature.

Every export is a tf.Module named after the model (gans.contract's name, "-" as "_"), whose one
signature is built from the model's `Signature` (so the SavedModel cannot drift from what the model
declares), plus `metadata.json`: {"model": name, **declaration.record(config), **extra, **metadata}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gans.config import latent_signature
from gans.contract import ModelDeclaration, ModelKind, Signature, TensorField, make_record

METADATA_FILE = "metadata.json"


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """Map tanh output in [-1, 1] to uint8 [0, 255], rounding to nearest."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def tensor_spec(field: TensorField) -> tf.TensorSpec:
    """Return the tf.TensorSpec of a declared tensor."""
    return tf.TensorSpec(field.shape, tf.as_dtype(field.dtype), name=field.name)


def module_name(model_name: str) -> str:
    """Return model_name as a tf.Module name, which must be a Python identifier ("keras-gan" -> "keras_gan")."""
    return re.sub(r"\W", "_", model_name)


class _ServingModule(tf.Module):
    """Hold the nets and the serving function, so the SavedModel owns both."""

    def __init__(self, name: str, signature: Signature, serve: Callable[..., dict[str, tf.Tensor]],
                 nets: dict[str, Any]):
        super().__init__(name=module_name(name))
        for attribute, net in nets.items():
            setattr(self, attribute, net)
        self.serve = tf.function(serve, input_signature=[tensor_spec(f) for f in signature.inputs])


def save_serving(export_dir: str | Path, name: str, signature: Signature,
                 serve: Callable[..., dict[str, tf.Tensor]], nets: dict[str, Any], info: dict[str, Any]) -> None:
    """Save serve (inputs named as signature.inputs -> dict of outputs) under signature.key, and metadata.json."""
    export_dir = Path(export_dir)
    module = _ServingModule(name, signature, serve, nets)
    tf.saved_model.save(module, str(export_dir), signatures={signature.key: module.serve})
    write_metadata(export_dir, {**info, "model": name})


def export_declared(declaration: ModelDeclaration, config: Any, export_dir: str | Path,
                    serve: Callable[..., dict[str, tf.Tensor]], nets: dict[str, Any], metadata: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> None:
    """Save a model's export serving exactly declaration.signature(config); metadata.json adds its record."""
    save_serving(export_dir, declaration.name, declaration.signature(config), serve, nets,
                 {**declaration.record(config), **(extra or {}), **metadata})


def serve_latents(generator: keras.Model) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """Return the serving function of an unconditional generator: z (N, z_dim) -> {"images": uint8}."""
    def serve(z: tf.Tensor) -> dict[str, tf.Tensor]:
        # training=False: BatchNorm must use its moving statistics, so that one image does not
        # depend on the others in the request.
        return {"images": to_uint8(generator(z, training=False))}

    return serve


def export_generator(generator: keras.Model, export_dir: str | Path, z_dim: int, *, name: str = "dcgan",
                     metadata: dict[str, Any] | None = None) -> None:
    """Save an unconditional generator as model `name`: serving_default z float32 -> {"images": uint8}."""
    signature = latent_signature(z_dim, int(generator.output_shape[1]), int(generator.output_shape[-1]))
    save_serving(export_dir, name, signature, serve_latents(generator), {"generator": generator},
                 {**make_record(ModelKind.UNCONDITIONAL, signature), **(metadata or {})})


def write_metadata(export_dir: str | Path, info: dict[str, Any]) -> None:
    """Write export_dir/metadata.json, sorted and indented for people reading it."""
    (Path(export_dir) / METADATA_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


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
    """Return the metadata.json written beside an exported model."""
    return json.loads((Path(export_dir) / METADATA_FILE).read_text())
