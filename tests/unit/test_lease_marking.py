"""A lease found lost by a write is logged once, like one the heartbeat finds: a silent stop is undiagnosable."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest

from worker.lease import Heartbeat, lease_lost, mark_lease_lost


def test_a_write_that_finds_the_lease_taken_logs_it_once(caplog: pytest.LogCaptureFixture) -> None:
    ctx = cast(Any, SimpleNamespace(settings=SimpleNamespace(heartbeat_seconds=3600)))  # never beats here
    with caplog.at_level(logging.WARNING, logger="worker.lease"), Heartbeat(ctx, 7):
        assert not lease_lost()
        mark_lease_lost()
        mark_lease_lost()
        assert lease_lost()
    lost = [r.getMessage() for r in caplog.records if "lease lost" in r.getMessage()]
    assert lost == ["job 7: lease lost (a write found it held by another worker); stopping"]
    assert not lease_lost()  # outside the job, nothing is lost


def test_marking_outside_a_job_does_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="worker.lease"):
        mark_lease_lost()
    assert not lease_lost() and not caplog.records
