"""Training on several devices: tf.distribute.MirroredStrategy, arranged so a replicated step computes what
one device computes on the whole batch.

A worker that sees more than one GPU mirrors the model's variables on each and splits every global batch
into equal contiguous slices, one per replica. Three things keep the arithmetic that of one device:

- every replica draws the *global* batch's random numbers from the same stream and keeps its own rows
  (`SharedGenerator`), so latents and DiffAugment draws are the ones a single device would draw;
- each replica's loss is divided by the replica count before its gradient is taken (`per_replica_loss`),
  and the optimizer all-reduces the gradients by sum, which gives the gradient of the global mean;
- batch normalisation takes its statistics over the global batch (`synchronized` when replicated).

What remains is floating-point order, and one formula: synchronized batch norm takes the variance as
E[x^2] - E[x]^2 over the replicas where one device takes it in two passes. A mirrored run matches a
one-device run built with that formula to float rounding, and a plain one-device run to the looser
tolerance GAN dynamics make of that difference (tests/unit/gans/test_gans_replicas.py states both).
A model opts in by splitting its step into `replica_step` (runs on every replica) and `after_replicas`
(runs once, on the mirrored variables: e.g. an EMA update).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import tensorflow as tf

from gans.errors import ConfigError

log = logging.getLogger(__name__)


class ReplicatedModel(Protocol):
    """What a model offers to be trained on several replicas."""

    def replica_step(self, batch: Any) -> dict[str, tf.Tensor]: ...

    def after_replicas(self) -> None: ...


def training_strategy(devices: Sequence[str] | None = None) -> tf.distribute.Strategy | None:
    """Return a MirroredStrategy over `devices` (default: every GPU this process sees) when there are two or
    more of them, else None: one device trains without a strategy, exactly as before replicas existed."""
    if devices is None:
        devices = [device.name for device in tf.config.list_logical_devices("GPU")]
    if len(devices) < 2:
        return None
    return _mirrored(tuple(devices))


@functools.cache
def _mirrored(devices: tuple[str, ...]) -> tf.distribute.MirroredStrategy:
    """One strategy per set of devices and process: a second MirroredStrategy over the same devices numbers its
    collective ops from the start again, and a model of other shapes then fails with "Shape mismatch in the
    collective instance" (tensorflow/tensorflow#62790)."""
    return tf.distribute.MirroredStrategy(devices=list(devices))


def check_batch_splits(batch_size: int, strategy: tf.distribute.Strategy) -> None:
    """Raise ConfigError unless batch_size splits evenly over the strategy's replicas."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ConfigError(f"batch_size {batch_size} does not split over {replicas} devices: use a multiple "
                          f"of {replicas}")


def replica_count() -> int:
    """Return the replicas training in sync here: 1 outside a strategy."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replicated() -> bool:
    """Tell whether layers built now are built for several replicas (inside a multi-replica scope)."""
    return tf.distribute.has_strategy() and replica_count() > 1


def _replica() -> tuple[int, tf.Tensor | int]:
    """Return (replica count, this replica's index) in a replica context, else (1, 0)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def replica_rows(x: tf.Tensor) -> tf.Tensor:
    """Return this replica's contiguous slice of the global batch x (all of x on one device)."""
    count, index = _replica()
    if count == 1:
        return x
    rows = tf.shape(x)[0] // count
    return x[index * rows:(index + 1) * rows]


def per_replica_loss(loss: tf.Tensor) -> tf.Tensor:
    """Return the share of a replica's mean loss whose gradients, summed over replicas, are the global mean's."""
    count, _ = _replica()
    return loss if count == 1 else loss / count


class SharedGenerator(tf.random.Generator):
    """A tf.random.Generator whose replicas draw one stream, each keeping its rows of the global batch.

    tf.random.Generator in a replica context hashes the replica id into its key, so replicas draw unrelated
    numbers and none draws what one device would. Here every draw's first dimension is the local batch:
    each replica draws the global shape from the unmodified key (its mirrored state advances exactly as one
    device's does) and keeps its slice. Outside a multi-replica context it is tf.random.Generator unchanged,
    and its checkpoints are the same.
    """

    def _preprocess_key(self, key: tf.Tensor) -> tf.Tensor:
        return key  # no replica hash: every replica reads the one stream

    def normal(self, shape: Any, *args: Any, **kwargs: Any) -> tf.Tensor:
        return self._shared(super().normal, shape, *args, **kwargs)

    def uniform(self, shape: Any, *args: Any, **kwargs: Any) -> tf.Tensor:
        return self._shared(super().uniform, shape, *args, **kwargs)

    def _shared(self, draw: Callable[..., tf.Tensor], shape: Any, *args: Any, **kwargs: Any) -> tf.Tensor:
        count, _ = _replica()
        if count == 1:
            return draw(shape, *args, **kwargs)
        shape = list(shape)
        return replica_rows(draw([shape[0] * count, *shape[1:]], *args, **kwargs))


def replicated_step(strategy: tf.distribute.Strategy, model: ReplicatedModel,
                    jit_compile: bool = False) -> Callable[[Any], dict[str, tf.Tensor]]:
    """Return a step for the global batch: model.replica_step on every replica's rows, then after_replicas
    once; each loss is the mean of the replicas' (equal slices: the global batch's mean). With jit_compile,
    XLA compiles the replica's step (as Keras does under a strategy), not the all-reduces around it."""

    def on_replica(global_batch: Any) -> dict[str, tf.Tensor]:
        return model.replica_step(tf.nest.map_structure(replica_rows, global_batch))

    replica_fn = tf.function(on_replica, jit_compile=True) if jit_compile else on_replica

    def step(batch: Any) -> dict[str, tf.Tensor]:
        losses = strategy.run(replica_fn, args=(batch,))
        model.after_replicas()
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in losses.items()}

    return step


def build_on_replicas(build: Callable[[Any], Any], config: Any, strategy: tf.distribute.Strategy | None) -> Any:
    """Return build(config), its variables mirrored under strategy when there is one (its batch checked to split)."""
    if strategy is None:
        return build(config)
    check_batch_splits(config.batch_size, strategy)
    log.info("training on %d replicas", strategy.num_replicas_in_sync)
    with strategy.scope():
        return build(config)


def compiled_step(model: Any, strategy: tf.distribute.Strategy | None,
                  jit_compile: bool) -> tuple[Callable[[Any], dict[str, tf.Tensor]], bool]:
    """Return the step for gans.chunks.StepRunner to compile, and whether XLA compiles it whole: the model's
    train_step on one device; replicated (XLA then inside each replica, not around the all-reduces)."""
    if strategy is None:
        return model.train_step, jit_compile
    return replicated_step(strategy, model, jit_compile), False
