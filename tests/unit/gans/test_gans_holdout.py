"""The held-out split: its size rule, stable by content, never trained on; quality against it, with its floor."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from gans.holdout import holdout_size, split_folder
from tests.unit.gans.conftest import write_images


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def hundred_twenty(tmp_path: Path) -> Path:
    directory = tmp_path / "faces"
    write_images(directory, 120, size=16, seed=4)
    return directory


@pytest.mark.parametrize(("count", "held"), [(0, 0), (99, 0), (100, 10), (2335, 233), (10_009, 1000), (50_000, 1000)])
def test_holdout_is_ten_percent_up_to_a_thousand_from_a_hundred_images(count: int, held: int) -> None:
    assert holdout_size(count) == held


def test_split_is_the_lowest_content_hashes(hundred_twenty: Path) -> None:
    split = split_folder(hundred_twenty)
    assert len(split.held_out) == 12 and len(split.train) == 108
    lowest = sorted(_sha(p) for p in [*split.train, *split.held_out])[:12]
    assert sorted(_sha(p) for p in split.held_out) == lowest


def test_split_is_stable_when_files_are_renamed_and_reordered(hundred_twenty: Path, tmp_path: Path) -> None:
    before = {_sha(p) for p in split_folder(hundred_twenty).held_out}
    renamed = tmp_path / "renamed" / "nested"
    renamed.mkdir(parents=True)
    files = sorted(hundred_twenty.iterdir())
    for i, path in enumerate(reversed(files)):
        shutil.copy(path, renamed / f"cat-{(i * 37) % 1000:04d}.png")
    assert {_sha(p) for p in split_folder(renamed.parent).held_out} == before


def test_a_duplicate_of_a_held_out_image_is_held_out_too(hundred_twenty: Path) -> None:
    held = split_folder(hundred_twenty).held_out[0]
    shutil.copy(held, hundred_twenty / "zz-copy.png")
    split = split_folder(hundred_twenty)
    assert str(hundred_twenty / "zz-copy.png") in split.held_out
    assert _sha(held) not in {_sha(p) for p in split.train}


def _decoded(paths: list[str] | tuple[str, ...]) -> list[bytes]:
    from gans.data import load_image

    return [load_image(p, 16).numpy().tobytes() for p in paths]


def test_epochs_never_yield_a_held_out_image(hundred_twenty: Path) -> None:
    from gans.data import count_images, image_folder_dataset

    split = split_folder(hundred_twenty)
    held, train = set(_decoded(split.held_out)), set(_decoded(split.train))
    assert count_images(hundred_twenty) == 108
    seen = [image.tobytes() for epoch in (0, 1)
            for batch in image_folder_dataset(hundred_twenty, 16, 12, seed=1, epoch=epoch) for image in batch.numpy()]
    assert len(seen) == 2 * 108 and set(seen) == train and not set(seen) & held


def test_quality_is_measured_against_the_held_out_images(hundred_twenty: Path) -> None:
    from gans.common import real_images, trained_on_images

    split = split_folder(hundred_twenty)
    real = real_images(hundred_twenty, 16, 3, 256, seed=0)
    held = {img.tobytes() for img in _uint8(split.held_out)}
    assert len(real) == 12 and {img.tobytes() for img in real} == held
    trained = trained_on_images(hundred_twenty, 16, 3, 12, seed=0)
    assert len(trained) == 12 and not {img.tobytes() for img in trained} & held


def _uint8(paths: tuple[str, ...]) -> list[np.ndarray]:
    from gans.data import load_image
    from gans.export import to_uint8

    return [to_uint8(load_image(p, 16)).numpy() for p in paths]


def test_a_run_reports_swd_against_the_holdout_beside_the_floor(hundred_twenty: Path, tmp_path: Path) -> None:
    from gans.configs.dcgan import DCGANConfig
    from gans.train import TrainingHooks, train_dcgan

    config = DCGANConfig(image_size=32, g_filters=32, d_filters=8, batch_size=12, epochs=1, seed=2,
                         quality_samples=16)
    metrics = train_dcgan(config, hundred_twenty, tmp_path / "ckpt", TrainingHooks()).metrics
    assert metrics["holdout_images"] == 12
    assert 0 < metrics["swd_floor"] < metrics["swd_mean"]  # an untrained G is far from the floor
    assert metrics["swd_ratio"] == pytest.approx(metrics["swd_mean"] / metrics["swd_floor"], rel=1e-3)


def test_a_small_folder_holds_nothing_out_and_reports_no_floor(image_dir: Path, tmp_path: Path) -> None:
    from gans.configs.dcgan import DCGANConfig
    from gans.train import TrainingHooks, train_dcgan

    assert split_folder(image_dir).held_out == ()
    config = DCGANConfig(image_size=32, g_filters=32, d_filters=8, batch_size=8, epochs=1, seed=2, quality_samples=16)
    metrics = train_dcgan(config, image_dir, tmp_path / "ckpt", TrainingHooks()).metrics
    assert "swd_mean" in metrics and "swd_floor" not in metrics
