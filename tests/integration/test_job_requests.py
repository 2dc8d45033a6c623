"""submit_job: the one service call behind POST /v1/jobs decides the seed, the default shard size and the quota
exemption of admins (no view does), on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.errors import InvalidInput
from core.services.job_requests import MAX_SEED, JobRequest, OutputOptions, Requester, submit_job
from core.services.submissions import SourceRef
from core.settings import Settings
from core.states import JobStatus, JobType
from tests.integration.test_metrics import model_version_row
from tests.support.auth import TEST_OWNER


def test_submit_job_draws_the_seed_defaults_the_shard_size_and_exempts_only_admins(
        settings: Settings, sessions: sessionmaker[Session]) -> None:
    strict = settings.model_copy(update={"quota_generate_images": 100, "shard_size": 250})
    request = JobRequest(type=JobType.GENERATE, source=SourceRef(model_version_row(sessions, "req-cats")),
                         count=300)
    with session_scope(sessions) as session, pytest.raises(InvalidInput) as refused:
        submit_job(session=session, request=request, requester=Requester(TEST_OWNER), settings=strict)
    assert refused.value.code == "quota_exceeded"
    assert refused.value.fields == {"count": ["At most 100 images per job."]}

    with session_scope(sessions) as session:
        admin = Requester(TEST_OWNER, admin=True)
        drawn = submit_job(session=session, request=request, requester=admin, settings=strict)
        again = submit_job(session=session, request=request, requester=admin, settings=strict)
        given = submit_job(session=session, request=JobRequest(
            type=JobType.GENERATE, source=request.source, count=300, seed=7,
            output=OutputOptions(format="jpeg", shard_size=150)), requester=admin, settings=strict)
        assert drawn.owner == TEST_OWNER and drawn.status == JobStatus.QUEUED
        assert drawn.params["shard_size"] == 250 and drawn.params["format"] == "png"  # CATGAN_SHARD_SIZE
        assert 0 <= drawn.params["seed"] <= MAX_SEED and 0 <= again.params["seed"] <= MAX_SEED
        assert drawn.params["seed"] != again.params["seed"]  # drawn per job (equal once in 2**31)
        assert (given.params["seed"], given.params["shard_size"], given.params["quality"]) == (7, 150, 90)
