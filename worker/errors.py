"""The failures a worker expects: it fails the job with their message and goes on. Anything else is a bug.

    JobInputError        the job cannot run as asked (its dataset folder or checkpoint is gone, its name taken)
    gans.errors.GanError a config, dataset, checkpoint or run the user must change (ConfigError, DatasetError,
                         CheckpointError, TrainingDiverged)

Both are caught by type in `worker.pipelines.runner`; a ValueError, a TensorFlow or NumPy error, or any
other exception fails the job as "unexpected" and is re-raised with its traceback in the worker log.
Resource faults (memory, disk, damaged exports) are told apart in `worker.faults`.
"""

from __future__ import annotations

from gans.errors import GanError


class JobInputError(Exception):
    """The job cannot run as asked (its data is gone, its name was taken...): fail it, do not re-raise."""


EXPECTED: tuple[type[Exception], ...] = (JobInputError, GanError)
