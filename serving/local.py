"""The `local` generation backend: SavedModels loaded in the worker process, cached per version.

It calls the same `serving_default` signatures TensorFlow Serving would: `z` (and `label` for a
conditional model) → images, or `image` → images for pix2pix.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np


class ExportUnreadable(Exception):
    """A SavedModel that is missing files or damaged; the message names its folder and what was wrong."""


@lru_cache(maxsize=4)
def load_export(export_dir: str) -> Any:
    """The loaded SavedModel at `export_dir` (TensorFlow is imported only in the worker's task process).

    Raises:
        ExportUnreadable: saved_model.pb missing or corrupt (OSError), a variables file truncated
            (IndexError) or failing its checksum (DataLossError), a shard missing (NotFoundError).
    """
    import tensorflow as tf

    try:
        return tf.saved_model.load(export_dir)
    except tf.errors.ResourceExhaustedError:
        raise  # out of memory (or disk): not the export's fault
    except (OSError, IndexError, tf.errors.OpError) as exc:
        detail = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]
        raise ExportUnreadable(f"the export at {export_dir} cannot be loaded ({detail})") from exc


def signature_inputs(export_dir: str) -> set[str]:
    """The input names of the export's serving signature (e.g. {"z"}, {"z", "label"}, {"image"})."""
    serve = load_export(export_dir).signatures["serving_default"]
    return set(serve.structured_input_signature[1])


def generate_images(export_dir: str, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """uint8 images (N, H, W, C) from latents (N, z_dim) and, for a conditional model, labels (N,)."""
    import tensorflow as tf

    serve = load_export(export_dir).signatures["serving_default"]
    inputs = {"z": tf.convert_to_tensor(z, tf.float32)}
    if labels is not None:
        inputs["label"] = tf.convert_to_tensor(labels, tf.int32)
    return serve(**inputs)["images"].numpy()


def translate_images(export_dir: str, images: np.ndarray) -> np.ndarray:
    """uint8 images (N, S, S, 3) → uint8 (N, S, S, 3) through an image-to-image export (pix2pix)."""
    import tensorflow as tf

    serve = load_export(export_dir).signatures["serving_default"]
    return serve(image=tf.convert_to_tensor(images, tf.uint8))["images"].numpy()
