"""What a running job reports, one dataclass per record: the worker builds them, the job row stores them as
JSON (field names as keys), and the API's response schema is derived from their fields.

They live in core, not gans: they are the house's published record of a job (the API reads them without
TensorFlow, and gans imports nothing of ours). The trainer's own `gans.train.Progress` is mapped onto
`TrainProgress` by the worker, field by field, so what the API publishes is a choice made here.
A field added to a record is stored, served and documented in the OpenAPI document with no other change.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainProgress:
    """A train job's latest step."""

    epoch: int  # 1-based epoch running or just finished
    step: int  # optimizer steps done overall (continues across resume)
    total_steps: int  # where the run will end
    g_loss: float
    d_loss: float
    images_per_second: float
    eta_seconds: float | None  # None until the speed is known


@dataclass(frozen=True)
class BulkProgress:
    """A generate or translate job's images so far (`step` of `total_steps` indices done)."""

    step: int
    total_steps: int
    images_done: int  # written
    duplicates_dropped: int
    shards_done: int
    shards_total: int
    images_per_second: float
    eta_seconds: float | None


@dataclass(frozen=True)
class GenerateMetrics:
    """How a generate job ended."""

    images: int
    duplicates_dropped: int
    shards: int
    seconds: float
    images_per_second: float


@dataclass(frozen=True)
class TranslateMetrics:
    """How a translate job ended."""

    images: int
    shards: int
    seconds: float


PROGRESS_RECORDS: tuple[type, ...] = (TrainProgress, BulkProgress)


def list_record_fields(*records: type) -> dict[str, type]:
    """Return {field name: int, float, bool or str} over the records' fields (a name in two must agree)."""
    found: dict[str, type] = {}
    for record in records:
        hints = typing.get_type_hints(record)
        for field in dataclasses.fields(record):
            kind = _scalar(hints[field.name])
            if found.setdefault(field.name, kind) is not kind:
                raise TypeError(f"{field.name} is {found[field.name].__name__} in one record, {kind.__name__} "
                                f"in {record.__name__}")
    return found


def to_json(record: Any) -> dict[str, Any]:
    """The record as the job row stores it."""
    return dataclasses.asdict(record)


def _scalar(hint: Any) -> type:
    """int for `int` or `int | None`, and so on; TypeError for anything else."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] if isinstance(hint, types.UnionType) else [hint]
    if len(args) != 1 or args[0] not in (int, float, bool, str):
        raise TypeError(f"a record field must be int, float, bool or str (or None), not {hint!r}")
    return args[0]
