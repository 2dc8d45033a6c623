"""The job state machine: the one place that knows which status may follow which."""

from __future__ import annotations

from enum import StrEnum

from core.errors import IllegalTransition


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobType(StrEnum):
    TRAIN = "train"
    GENERATE = "generate"
    TRANSLATE = "translate"  # pix2pix: an archive of sketches → cat images


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # running → queued: a worker shutting down hands the job back; another resumes it from its checkpoint
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}),
    JobStatus.SUCCEEDED: frozenset(),
    # failed/cancelled → queued: resumed on request, from the last checkpoint or the last finished shard
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
    JobStatus.CANCELLED: frozenset({JobStatus.QUEUED}),
}


def can_transition(current: JobStatus | str, target: JobStatus | str) -> bool:
    """Tell whether `current` may become `target`."""
    return JobStatus(target) in ALLOWED[JobStatus(current)]


def check_transition(current: JobStatus | str, target: JobStatus | str) -> JobStatus:
    """Return `target` as a status, or raise IllegalTransition."""
    if not can_transition(current, target):
        raise IllegalTransition(f"a {JobStatus(current)} job cannot become {JobStatus(target)}")
    return JobStatus(target)


def is_terminal(status: JobStatus | str) -> bool:
    """Tell whether a job in `status` is finished for good."""
    return JobStatus(status) in TERMINAL
