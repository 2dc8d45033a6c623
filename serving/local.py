"""The `local` generation backend: SavedModels loaded in the worker process, cached per version.

It calls the same signature TensorFlow Serving would, with the inputs the model version's recorded
signature names (gans.contract.Signature), so it knows nothing of any one model.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from gans.contract import Signature


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


def predict(export_dir: str, signature: Signature, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Run the export's `signature` on inputs (named and typed as the signature says); return its first output."""
    import tensorflow as tf

    serve = load_export(export_dir).signatures[signature.key]
    tensors = {name: tf.convert_to_tensor(array) for name, array in inputs.items()}
    return serve(**tensors)[signature.outputs[0].name].numpy()
