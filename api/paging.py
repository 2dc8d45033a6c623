"""Pages of a job's sub-resources (artifacts, checkpoints, webhook deliveries): one shape for every such view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api import auth
from api.context import transaction
from core.services import jobs

Pager = Callable[..., tuple[Sequence[Any], str | None]]  # (session=, job_id=, limit=, cursor=...) -> (items, next)


def page_of_job(job_id: int, page: Pager, present: Callable[[Any], dict[str, Any]], **query: Any) -> dict[str, Any]:
    """A page of the caller's job's items as `{items, next_cursor}`; another owner's job is 404."""
    with transaction() as session:
        jobs.get_job(session=session, job_id=job_id, owner=auth.scope())
        items, next_cursor = page(session=session, job_id=job_id, **query)
        return {"items": [present(item) for item in items], "next_cursor": next_cursor}
