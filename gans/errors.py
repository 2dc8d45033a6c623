"""The domain errors of training, TF-free: what a caller may catch and show to the user.

    GanError                 base: the job failed for a reason the user can read and act on
    ├── ConfigError          a config's params are invalid (validate(); the message names the field)
    ├── DatasetError         the data cannot train the model as asked (too few images, no classes, ...)
    ├── CheckpointError      no checkpoint of a run could be restored (each one tried is named, with why)
    └── TrainingDiverged     training went somewhere it cannot come back from (NaN, stuck D, collapse)

None of them is a ValueError: a ValueError (or any other exception) out of training is a bug, to be
shown with its traceback, not a message for the user.
"""

from __future__ import annotations


class GanError(Exception):
    """A training failure whose message tells the user what to change."""


class ConfigError(GanError):
    """A config param is invalid; the message names the field and what it must be."""


class DatasetError(GanError):
    """The data cannot train the model as configured; the message says what is missing."""


class CheckpointError(GanError):
    """No checkpoint of a run could be restored; the message lists each one tried, why, and what to do."""


class TrainingDiverged(GanError):
    """Training went somewhere it cannot come back from; the message says what was seen."""
