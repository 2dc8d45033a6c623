"""Images per second, ETA and the wall-clock budget of a run."""

from __future__ import annotations

import collections
import time

RATE_WINDOW = 20  # steps over which images/s is averaged


class RateMeter:
    """Images/s over the last steps (leaving out the first, tracing call) and the max_seconds deadline.

    Steps are ticked as they come back from the device: one at a time, or a chunk of k at once
    (gans.chunks); the first call's steps (the tracing ones) are left out of every figure.
    """

    def __init__(self, batch_size: int, max_seconds: float | None = None) -> None:
        self.batch_size = batch_size
        self.start = time.perf_counter()
        self.deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self.marks: collections.deque[tuple[float, int]] = collections.deque(maxlen=RATE_WINDOW + 1)  # (time, ticks)
        self.ticks = 0
        self.first: float | None = None  # when the first (tracing) call ended
        self.first_ticks = 0  # ...and the steps it ran

    def tick(self, steps: int = 1) -> float:
        """Record `steps` finished steps (one compiled call) and return the current images/s."""
        now = time.perf_counter()
        self.ticks += steps
        self.marks.append((now, self.ticks))
        if self.first is None:
            self.first, self.first_ticks = now, self.ticks
        if len(self.marks) < 2:  # only the tracing call so far: time it from the start
            return self.batch_size * steps / max(now - self.start, 1e-9)
        return self.rate()

    def rate(self) -> float:
        """Images/s over the window of recorded calls (0 before two)."""
        if len(self.marks) < 2:
            return 0.0
        (start, before), (end, after) = self.marks[0], self.marks[-1]
        return self.batch_size * (after - before) / max(end - start, 1e-9)

    def elapsed(self) -> float:
        """Seconds since this run started."""
        return time.perf_counter() - self.start

    def timed_steps(self) -> int:
        """Steps timed after the first, tracing call."""
        return self.ticks - self.first_ticks

    def seconds_per_step(self) -> float:
        """Mean seconds per step since the tracing call (sheets and checkpoints included); inf before any."""
        if self.first is None or self.timed_steps() < 1:
            return float("inf")
        return (self.marks[-1][0] - self.first) / self.timed_steps()

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
