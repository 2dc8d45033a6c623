"""A train job's evolution: its sample sheets, oldest to newest, as one animated WebP (artifact `evolution.webp`)."""

from __future__ import annotations

import io
import logging
from typing import TypeVar

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.services import artifacts, job_outputs
from worker.reporting import JobReporter

log = logging.getLogger(__name__)
MAX_FRAMES = 60  # a long run's sheets are thinned evenly to this many, the first and last kept
FRAME_MS, LAST_FRAME_MS = 250, 1500  # the newest sheet stays up a moment before the loop starts again
NAME, KIND = "evolution.webp", "evolution"
T = TypeVar("T")


def build_evolution(sheets: list[bytes], *, max_frames: int = MAX_FRAMES) -> bytes:
    """An animated WebP of `sheets` (PNG bytes, oldest first), thinned to `max_frames`, at the newest sheet's size.

    Raises:
        ValueError: no sheets.
    """
    if not sheets:
        raise ValueError("an evolution needs at least one sample sheet")
    chosen = thin(sheets, max_frames)
    frames = [Image.open(io.BytesIO(data)).convert("RGB") for data in chosen]
    size = frames[-1].size
    frames = [f if f.size == size else f.resize(size, Image.Resampling.NEAREST) for f in frames]
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   lossless=True)
    return out.getvalue()


def thin(items: list[T], count: int) -> list[T]:
    """`count` items spread evenly over `items`, the first and last among them."""
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def record_evolution(reporter: JobReporter) -> None:
    """Make and record the job's evolution from the sheets it wrote; a run without readable sheets just has none."""
    settings = reporter.ctx.settings

    def read_sheets(session: Session) -> list[bytes]:
        rows, _ = job_outputs.page_artifacts(session=session, job_id=reporter.job_id, kind="sample_grid", limit=1000)
        return [artifacts.artifact_file(row, settings).read_bytes() for row in thin(rows, MAX_FRAMES)]
    try:
        sheets = reporter.transact(read_sheets, "sample sheets")
        if not sheets:
            return
        data = build_evolution(sheets)
    except (OSError, UnidentifiedImageError, NotFound) as exc:
        log.warning("job %s: no evolution.webp: %s", reporter.job_id, exc)
        return
    reporter.artifact(kind=KIND, name=NAME, data=data, content_type="image/webp", info={"frames": len(sheets)})
