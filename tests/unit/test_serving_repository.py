from pathlib import Path

import numpy as np
import pytest

from serving.latents import latent_batch
from serving.repository import ModelRepository


def _export(content: str):
    def export(directory: Path) -> None:
        directory.mkdir(parents=True)
        (directory / "saved_model.pb").write_text(content)
    return export


def test_publish_moves_a_complete_version_into_place(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    repo.publish("cats", 1, _export("one"))
    repo.publish("cats", 2, _export("two"))
    assert repo.versions("cats") == [1, 2]
    assert (tmp_path / "cats" / "2" / "saved_model.pb").read_text() == "two"
    assert list((tmp_path / ".staging").iterdir()) == []


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(directory: Path) -> None:
        directory.mkdir(parents=True)
        (directory / "half").write_text("x")
        raise RuntimeError("disk full")

    repo = ModelRepository(tmp_path)
    with pytest.raises(RuntimeError):
        repo.publish("cats", 1, broken)
    assert repo.versions("cats") == [] and repo.names() == []
    assert list((tmp_path / ".staging").iterdir()) == []


def test_publishing_an_existing_version_fails(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    repo.publish("cats", 1, _export("one"))
    with pytest.raises(OSError):
        repo.publish("cats", 1, _export("again"))
    assert (tmp_path / "cats" / "1" / "saved_model.pb").read_text() == "one"


def test_latents_depend_on_seed_and_index_only() -> None:
    whole = latent_batch(5, 0, 10, 8)
    assert whole.shape == (10, 8) and whole.dtype == np.float32
    np.testing.assert_array_equal(np.concatenate([latent_batch(5, 0, 3, 8), latent_batch(5, 3, 7, 8)]), whole)
    assert not np.array_equal(latent_batch(6, 0, 10, 8), whole)
