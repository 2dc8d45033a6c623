"""K train steps per compiled call: the host reads the losses back once per chunk, not after every step.

Calling a compiled train_step once per step and converting its losses with float() makes the host wait for
the device after every step (on a GPU, a stall per step). `StepRunner.run` runs k steps in one call — a
tf.while_loop drawing its batches from the tf.data iterator, as Keras' steps_per_execution does — and
returns the k steps' losses stacked. Each step inside is the very train_step a one-step call runs, on the
same batch, in the same order, with the same rng and the same per-step learning rates, so a run's numbers
do not depend on how its steps are grouped into chunks (tests/unit/gans/test_gans_chunks.py).

The trainer sizes chunks with `chunk_size` so a chunk never crosses a sample sheet, an epoch end (where
checkpoints and quality figures land) or the run's target; stop requests and the time budget are checked
between chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf


def chunk_size(step: int, end: int, steps_per_call: int, sample_every_steps: int) -> int:
    """Return how many steps to run in one call from `step` (steps done): at most steps_per_call, never past
    `end` (the epoch's end or the run's target) nor past the next sample sheet."""
    to_sheet = sample_every_steps - step % sample_every_steps
    return max(1, min(steps_per_call, end - step, to_sheet))


class StepRunner:
    """Run a model's train_step k times per compiled call; the optimizers' rates may be set per step."""

    def __init__(self, train_step: Callable[[Any], dict[str, tf.Tensor]], optimizers: Sequence[Any],
                 steps_per_call: int, jit_compile: bool = False) -> None:
        # XLA compiles the step alone: the loop around it reads a tf.data iterator, which XLA cannot.
        self.step = tf.function(train_step, jit_compile=jit_compile)
        self.optimizers = list(optimizers)
        self.steps_per_call = steps_per_call  # the most steps a call runs
        self.outputs: dict[str, tf.DType] | None = None  # the step's loss names and dtypes, once traced
        self._chunk = tf.function(self._run_chunk)  # traced once with rates, once without (as used)

    def run(self, iterator: Any, k: int, rates: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Run k steps on the next k batches of iterator; return each loss as a (k,) array, one sync.

        rates: (k, len(optimizers)) float32, each optimizer's learning rate for each step; None leaves them.
            Padded to steps_per_call rows, so every chunk size shares one trace.

        Raises:
            tf.errors.OutOfRangeError: the iterator ran out (an empty dataset); no step was lost if it had
                none to give.
        """
        if self.outputs is None:
            traced = self.step.get_concrete_function(iterator.element_spec).structured_outputs
            self.outputs = {name: value.dtype for name, value in traced.items()}
        if not 1 <= k <= self.steps_per_call:
            raise ValueError(f"a call runs 1 to {self.steps_per_call} steps, not {k}")
        if self.steps_per_call == 1:
            return self._run_one(iterator, rates)
        if rates is not None:
            rates = np.pad(np.asarray(rates, np.float32), ((0, self.steps_per_call - k), (0, 0)))
        found = self._chunk(iterator, tf.constant(k, tf.int32), None if rates is None else tf.constant(rates))
        return {name: value.numpy() for name, value in found.items()}

    def _run_one(self, iterator: Any, rates: np.ndarray | None) -> dict[str, np.ndarray]:
        """One step per call, the rates set from the host: the loop's graph measured slower for single steps
        on a busy CPU (0.8-0.9x), so K=1 runs the plain compiled step, as before chunks existed."""
        if rates is not None:
            for j, optimizer in enumerate(self.optimizers):
                optimizer.learning_rate = float(rates[0, j])
        try:
            losses = self.step(next(iterator))
        except StopIteration:  # as the loop's get_next() would say it
            raise tf.errors.OutOfRangeError(None, None, "the dataset is empty") from None
        return {name: np.asarray([value.numpy()]) for name, value in losses.items()}

    def _run_chunk(self, iterator: Any, k: tf.Tensor, rates: tf.Tensor | None) -> dict[str, tf.Tensor]:
        """The compiled loop: k times set the step's rates, draw a batch, train; stack the losses (k,)."""
        assert self.outputs is not None
        arrays = {name: tf.TensorArray(dtype, size=k) for name, dtype in self.outputs.items()}

        def body(i: tf.Tensor, arrays: dict[str, tf.TensorArray]) -> tuple[tf.Tensor, dict[str, tf.TensorArray]]:
            if rates is not None:
                for j, optimizer in enumerate(self.optimizers):
                    optimizer.learning_rate = rates[i, j]  # what LearningRates.scale does between eager steps
            losses = self.step(iterator.get_next())
            return i + 1, {name: arrays[name].write(i, losses[name]) for name in arrays}

        _, arrays = tf.while_loop(lambda i, _: i < k, body, (tf.constant(0), arrays))
        return {name: array.stack() for name, array in arrays.items()}
