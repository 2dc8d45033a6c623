"""Publishing a model version against faults: a version folder left without a row, a database that refuses the
row after the rename, and a worker that died between recording the version and finishing the job.

Real worker processes, real SQLite/PostgreSQL; the database fault is a real trigger refusing the insert.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from core.models import Job, ModelVersion
from core.settings import Settings
from tests.support.backends import worker_process
from tests.support.images import image_zip
from tests.support.jobs import submit, wait_for
from tests.support.models import declared_record, served_base_paths

pytestmark = pytest.mark.slow

FAST = {"batch_size": 8, "epochs": 1, "quality_samples": 16, "seed": 3}  # mlp-gan: 2 steps on 16 images


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    with worker_process(env, tmp_path / "worker.log"):
        yield tmp_path / "worker.log"


def _train(client: FlaskClient, name: str) -> dict:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(16, size=32)), "cats.zip")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    return submit(client, {"type": "train", "model": "mlp-gan", "dataset": upload.get_json()["id"],
                           "model_name": name, "params": FAST})


def _rows(sessions: sessionmaker[Session], name: str) -> list[tuple[int, int | None]]:
    with sessions() as session:
        return [(v.version, v.job_id) for v in session.scalars(
            select(ModelVersion).where(ModelVersion.name == name).order_by(ModelVersion.version))]


def _refuse_version_rows(sessions: sessionmaker[Session], refuse: bool) -> None:
    """Make the database refuse (or accept again) every new model_versions row: a fault after the rename."""
    with sessions.begin() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("DROP TRIGGER IF EXISTS refuse_versions"))
            if refuse:
                session.execute(text("CREATE TRIGGER refuse_versions BEFORE INSERT ON model_versions "
                                     "BEGIN SELECT RAISE(ABORT, 'injected: the database refuses the row'); END"))
            return
        session.execute(text("DROP TRIGGER IF EXISTS refuse_versions ON model_versions"))
        if refuse:
            session.execute(text("CREATE OR REPLACE FUNCTION refuse_versions() RETURNS trigger AS $$ BEGIN "
                                 "RAISE EXCEPTION 'injected: the database refuses the row'; END $$ LANGUAGE plpgsql"))
            session.execute(text("CREATE TRIGGER refuse_versions BEFORE INSERT ON model_versions "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_versions()"))


def test_a_version_folder_without_a_row_does_not_block_the_name(client: FlaskClient, settings: Settings,
                                                                 sessions: sessionmaker[Session],
                                                                 worker: Path) -> None:
    assert settings.model_repository is not None
    orphan = settings.model_repository / "orphaned" / "1"  # a publish that died after its rename
    orphan.mkdir(parents=True)
    (orphan / "saved_model.pb").write_bytes(b"left over")
    job = wait_for(client, _train(client, "orphaned")["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    assert _rows(sessions, "orphaned") == [(2, job["id"])]  # max(database, disk) + 1
    assert (settings.model_repository / "orphaned" / "2" / "saved_model.pb").stat().st_size > 1000
    assert (orphan / "saved_model.pb").read_bytes() == b"left over"  # not ours to delete, not in our way
    assert served_base_paths(settings)["orphaned"].endswith("/orphaned")


def test_a_publish_the_database_refuses_leaves_no_folder_and_the_next_one_gets_version_1(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], worker: Path) -> None:
    assert settings.model_repository is not None
    _refuse_version_rows(sessions, refuse=True)
    failed = wait_for(client, _train(client, "refused")["id"], timeout=300)
    assert failed["status"] == "failed" and "refuses the row" in failed["error"], failed
    assert failed["model_version"] is None and _rows(sessions, "refused") == []
    assert not (settings.model_repository / "refused" / "1").exists()  # taken back out after the rename
    assert list((settings.model_repository / ".staging").iterdir()) == []
    assert "refused" not in served_base_paths(settings)

    _refuse_version_rows(sessions, refuse=False)
    again = wait_for(client, _train(client, "refused")["id"], timeout=300)
    assert again["status"] == "succeeded", again["error"]
    assert _rows(sessions, "refused") == [(1, again["id"])]
    assert "refused" in served_base_paths(settings)


def test_a_job_that_already_published_its_version_just_finishes(client: FlaskClient, settings: Settings,
                                                                sessions: sessionmaker[Session], env: dict[str, str],
                                                                tmp_path: Path) -> None:
    assert settings.model_repository is not None
    job = _train(client, "once")  # queued, its message on the broker; no worker yet
    with sessions.begin() as session:  # what a worker that died after recording the version left behind
        record = declared_record("mlp-gan", z_dim=64)
        session.add(ModelVersion(name="once", version=1, model="mlp-gan", job_id=job["id"], path="once/1",
                                 kind=record["kind"], signature=record["signature"], image_size=28, z_dim=64,
                                 info={"step": 2, "metrics": {"swd_mean": 0.5}}, owner=job["owner"]))
        session.execute(update(Job).where(Job.id == job["id"]).values(attempts=1))  # requeued by the sweeper
    (settings.model_repository / "once" / "1").mkdir(parents=True)
    with worker_process(env, tmp_path / "worker.log"):
        done = wait_for(client, job["id"], timeout=300)
    assert done["status"] == "succeeded", done["error"]
    assert _rows(sessions, "once") == [(1, job["id"])]  # no second version
    assert done["checkpoints"] == [] and done["metrics"] == {"swd_mean": 0.5}  # not trained again
    assert sorted(p.name for p in (settings.model_repository / "once").iterdir()) == ["1"]
    assert "already published once version 1" in (tmp_path / "worker.log").read_text()
    assert "once" in served_base_paths(settings)  # the dead worker's version is rendered for TF Serving
