"""Resource faults told as what happened and what to do: memory, disk space, damaged checkpoints and exports.

`describe_failure` turns the exception a job died of into the job's `error`; None means it is not a
known fault (likely a bug), which the runner keeps reporting as unexpected and re-raises. The job's
earlier checkpoints, shards and other artifacts stay: nothing here or in the runner deletes them.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator

from gans.errors import CheckpointError
from serving.local import ExportUnreadable

DISK_FULL = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded"}
_PATH = re.compile(r"(/[^\s;:'\",]+)")  # the first absolute path in an error message


def describe_failure(exc: BaseException, *, job_id: int | None = None) -> str | None:
    """A message a user can act on for a known resource fault in `exc` (or its causes), else None."""
    resume = f"POST /v1/jobs/{job_id}/resume" if job_id is not None else "resume the job (POST /v1/jobs/<id>/resume)"
    chain = list(_chain(exc))
    for fault in chain:
        if isinstance(fault, CheckpointError):
            return str(fault)  # names every checkpoint tried, why it failed, and what to do
        if isinstance(fault, ExportUnreadable):
            return (f"{fault}: the model version's files are damaged or incomplete. Restore that folder from a "
                    f"backup (or train and publish the model again), then {resume}; or generate from another "
                    "version meanwhile")
    for fault in chain:  # before memory: TensorFlow reports a full disk as ResourceExhaustedError
        full = _disk_full(fault)
        if full is not None:
            reason, where = full
            return (f"the disk holding {where} is full ({reason}): free space there, then {resume}; it "
                    "continues from its last intact checkpoint or finished shard")
    for fault in chain:
        if _out_of_memory(fault):
            detail = _first_line(fault)
            return (f"out of memory while running the job{f' ({detail})' if detail else ''}: free memory on the "
                    f"worker (another process may hold the GPU), then {resume}; or submit the job again with a "
                    "smaller batch_size or image_size")
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what caused it (`raise ... from`) or was being handled when it was raised."""
    seen: set[int] = set()
    pending = [exc]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def _disk_full(exc: BaseException) -> tuple[str, str] | None:
    """(reason, where) when `exc` says a disk is full: errno ENOSPC/EDQUOT, or the message's text."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        where = exc.filename or _path_in(str(exc))
        return DISK_FULL[exc.errno], str(where) if where else "the worker's data folders"
    text = str(exc)
    for reason in DISK_FULL.values():
        if reason in text:
            return reason, _path_in(text) or "the worker's data folders"
    return None


def _out_of_memory(exc: BaseException) -> bool:
    """True for MemoryError and TensorFlow's ResourceExhaustedError."""
    if isinstance(exc, MemoryError):
        return True
    if not any(c.__module__.startswith("tensorflow") for c in type(exc).__mro__):
        return False  # only TensorFlow raises its errors: a generate job on TF Serving never loads it for this
    import tensorflow as tf  # already loaded: it raised `exc`

    return isinstance(exc, tf.errors.ResourceExhaustedError)


def _path_in(text: str) -> str | None:
    match = _PATH.search(text)
    return match.group(1) if match else None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""
