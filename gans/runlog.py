"""A run's record beside its checkpoints: loss history (survives resume), TensorBoard events, loss curve."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

HISTORY_FILE = "history.jsonl"
TENSORBOARD_DIR = "tensorboard"


class RunLog:
    """Appends per-step scalars to history.jsonl and TensorBoard; draws the loss curve."""

    def __init__(self, directory: Path, resume_step: int) -> None:
        self.directory = directory
        self.path = directory / HISTORY_FILE
        self.rows = [r for r in _read_rows(self.path) if r["step"] <= resume_step]  # drop steps lost to a crash
        self._rewrite()
        self.pending: list[dict[str, float]] = []
        self.writer = tf.summary.create_file_writer(str(directory / TENSORBOARD_DIR))

    @property
    def tensorboard_dir(self) -> Path:
        return self.directory / TENSORBOARD_DIR

    def record(self, step: int, values: dict[str, float]) -> None:
        """Remember one step's scalars (flushed with the next checkpoint)."""
        row = {"step": step, **{k: float(v) for k, v in values.items()}}
        self.rows.append(row)
        self.pending.append(row)
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)

    def image(self, step: int, name: str, sheet: np.ndarray) -> None:
        """A sample sheet (H, W, C) uint8 into TensorBoard."""
        with self.writer.as_default(step=step):
            tf.summary.image(name, sheet[None], max_outputs=1)

    def flush(self) -> None:
        """Persist pending rows and events (called at every checkpoint, so both agree on the step)."""
        with self.path.open("a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in self.pending)
        self.pending.clear()
        self.writer.flush()

    def loss_curve_png(self, keys: tuple[str, ...] = ("g_loss", "d_loss")) -> bytes:
        """The losses against step, smoothed, as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        figure, axis = plt.subplots(figsize=(8, 4), dpi=100)
        steps = np.array([r["step"] for r in self.rows])
        for key in keys:
            values = np.array([r.get(key, np.nan) for r in self.rows], dtype=float)
            if len(values):
                axis.plot(steps, values, alpha=0.25, linewidth=0.8)
                axis.plot(steps, _smooth(values), label=key, linewidth=1.5, color=axis.lines[-1].get_color())
        axis.set_xlabel("step")
        axis.set_ylabel("loss")
        if axis.lines:
            axis.legend(loc="upper right")
        axis.grid(alpha=0.3)
        buffer = io.BytesIO()
        figure.tight_layout()
        figure.savefig(buffer, format="png")
        plt.close(figure)
        return buffer.getvalue()

    def close(self) -> None:
        self.flush()
        self.writer.close()

    def _rewrite(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(r) + "\n" for r in self.rows))


def _read_rows(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line torn by a crash ends the usable history
    return rows


def _smooth(values: np.ndarray, window: int = 25) -> np.ndarray:
    """A trailing moving average that ignores NaNs."""
    out = np.empty_like(values)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1): i + 1]
        out[i] = np.nanmean(chunk) if np.isfinite(chunk).any() else np.nan
    return out
