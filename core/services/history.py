"""A train job's history: every progress report kept as a sample, read back thinned to a plottable size.

The job row keeps only the newest progress; the curves of a run (losses, images/s, SWD over steps) need them all.
Progress is written every few seconds (CATGAN_PROGRESS_INTERVAL_SECONDS), so a long run holds thousands of
samples: a reader asks for at most `limit` points and gets every n-th one, the last always included.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.models import ProgressSample

MAX_POINTS = 1000
LOSS_FIELDS = ("g_loss", "d_loss", "images_per_second")


def record_sample(*, session: Session, job_id: int, progress: dict[str, Any]) -> None:
    """Keep a train job's progress report (one with a step and losses; other jobs' progress is not a curve)."""
    if not isinstance(progress.get("step"), int) or "g_loss" not in progress:
        return
    session.add(ProgressSample(job_id=job_id, step=progress["step"], epoch=_integer(progress.get("epoch")),
                               **{name: _number(progress.get(name)) for name in LOSS_FIELDS}))


def record_quality(*, session: Session, job_id: int, step: int, swd: float | None) -> None:
    """Keep the sliced Wasserstein distance a train job measured at `step`."""
    value = _number(swd)
    if value is not None:
        session.add(ProgressSample(job_id=job_id, step=step, swd=value))


def read_history(*, session: Session, job_id: int, limit: int = MAX_POINTS) -> tuple[list[ProgressSample], int]:
    """The job's samples by step, at most `limit` (loss and SWD samples thinned apart), and how many are stored."""
    limit = max(2, min(limit, MAX_POINTS))
    of_job = ProgressSample.job_id == job_id
    swd_rows = _thinned(session, select(ProgressSample).where(of_job, ProgressSample.swd.is_not(None)), limit // 2)
    loss_rows = _thinned(session, select(ProgressSample).where(of_job, ProgressSample.swd.is_(None)),
                         limit - len(swd_rows))
    total = session.scalar(select(func.count()).select_from(ProgressSample).where(of_job)) or 0
    return sorted([*loss_rows, *swd_rows], key=lambda row: (row.step, row.id)), total


def _thinned(session: Session, query: Select[Any], limit: int) -> list[ProgressSample]:
    """Every n-th row of `query` by step so that at most `limit` remain, the last row always among them."""
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if count == 0 or limit <= 0:
        return []
    stride = math.ceil(count / max(1, limit - 1)) if count > limit else 1  # leaves room for the last
    rank = func.row_number().over(order_by=(ProgressSample.step, ProgressSample.id)).label("rank")
    ranked = query.with_only_columns(ProgressSample.id, rank).subquery()
    keep = select(ranked.c.id).where(((ranked.c.rank - 1) % stride == 0) | (ranked.c.rank == count))
    rows = session.scalars(select(ProgressSample).where(ProgressSample.id.in_(keep))
                           .order_by(ProgressSample.step, ProgressSample.id))
    return list(rows)


def _number(value: Any) -> float | None:
    """A finite float, or None (JSON and the chart have no NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
