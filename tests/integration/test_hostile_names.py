"""Dataset names that would become paths or break models.config: a train job without a model_name publishes
under a slug inside the model repository, and TF Serving's own proto still parses models.config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.backends import worker_process
from tests.support.http import upload
from tests.support.images import image_zip
from tests.support.jobs import submit, wait_for
from tests.support.models import served_base_paths

pytestmark = pytest.mark.slow

FAST = {"batch_size": 8, "epochs": 1, "quality_samples": 16, "seed": 3}  # mlp-gan: 2 steps on 16 images
HOSTILE = {"../../../escaped": "mlp-gan-escaped", 'a"b': "mlp-gan-a-b",
           "C:\\Users\\me\\" + "cats " * 30: "mlp-gan-c-users-me-" + ("cats-" * 17)[:81].rstrip("-")}


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env, tmp_path / "worker.log"):
        yield


def test_dataset_names_become_slugs_inside_the_repository(client: FlaskClient, settings: Settings,
                                                           worker: None) -> None:
    assert settings.model_repository is not None
    jobs = {}
    for name in HOSTILE:
        dataset = upload(client, image_zip(16, size=32), "cats.zip", name=name)
        assert dataset.status_code == 201, dataset.get_json()
        jobs[name] = submit(client, {"type": "train", "model": "mlp-gan", "dataset": dataset.get_json()["id"],
                                     "params": FAST})
        assert jobs[name]["params"]["model_name"] == HOSTILE[name]  # known before the job is stored
    for name, job in jobs.items():
        done = wait_for(client, job["id"], timeout=300)
        assert done["status"] == "succeeded", done["error"]
        version = client.get(f"/v1/model-versions/{done['model_version']}").get_json()
        assert (version["name"], version["version"]) == (HOSTILE[name], 1)
        assert (settings.model_repository / HOSTILE[name] / "1" / "saved_model.pb").is_file()
    assert not (settings.home / "escaped").exists() and not (settings.home.parent / "escaped").exists()
    served = served_base_paths(settings)
    assert served == {slug: str(settings.model_repository / slug) for slug in HOSTILE.values()}
    assert all(len(slug) <= 100 for slug in served)
