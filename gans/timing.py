"""Images per second, ETA and the wall-clock budget of a run."""

from __future__ import annotations

import collections
import time

RATE_WINDOW = 20  # steps over which images/s is averaged


class RateMeter:
    """Images/s over the last steps (leaving out the first, tracing step) and the max_seconds deadline."""

    def __init__(self, batch_size: int, max_seconds: float | None = None) -> None:
        self.batch_size = batch_size
        self.start = time.perf_counter()
        self.deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self.marks: collections.deque[float] = collections.deque(maxlen=RATE_WINDOW + 1)
        self.ticks = 0
        self.first: float | None = None  # when the first (tracing) step ended

    def tick(self) -> float:
        """Record a finished step and return the current images/s."""
        self.marks.append(time.perf_counter())
        self.ticks += 1
        if self.first is None:
            self.first = self.marks[-1]
        if len(self.marks) < 2:  # only the tracing step so far: time it from the start
            return self.batch_size / max(self.marks[-1] - self.start, 1e-9)
        return self.rate()

    def rate(self) -> float:
        """Images/s over the window of recorded steps (0 before two steps)."""
        if len(self.marks) < 2:
            return 0.0
        return self.batch_size * (len(self.marks) - 1) / max(self.marks[-1] - self.marks[0], 1e-9)

    def elapsed(self) -> float:
        """Seconds since this run started."""
        return time.perf_counter() - self.start

    def timed_steps(self) -> int:
        """Steps timed after the first, tracing one."""
        return max(self.ticks - 1, 0)

    def seconds_per_step(self) -> float:
        """Mean seconds per step since the tracing step (sheets and checkpoints included); inf before two."""
        if self.first is None or self.ticks < 2:
            return float("inf")
        return (self.marks[-1] - self.first) / (self.ticks - 1)

    def eta(self, steps_left: int) -> float | None:
        """Seconds to go, or None while only the tracing step was timed."""
        return None if len(self.marks) < 2 else steps_left * self.batch_size / self.rate()

    def out_of_time(self) -> bool:
        """Whether the wall-clock budget is spent."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def expected_total(self, step: int, target: int) -> int:
        """The step the run will end at: the target, or sooner when the budget runs out first."""
        if self.deadline is None or len(self.marks) < 2:
            return target
        steps_left = (self.deadline - time.monotonic()) * self.rate() / self.batch_size
        return max(step, min(target, step + int(steps_left)))
