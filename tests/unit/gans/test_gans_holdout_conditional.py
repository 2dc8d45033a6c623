"""The held-out split for cgan (class folders) and pix2pix (pairs): never trained on; quality and sheets from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gans.holdout import split_folder
from tests.unit.gans.conftest import write_images

SIZE = 16  # written at the size read: decoding is exact, so a decoded image names its file


@pytest.fixture(scope="module")
def classes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 2 class folders of 60 distinct 16-px images each: 120 images, 12 held out over the whole folder."""
    root = tmp_path_factory.mktemp("classes")
    write_images(root / "ginger", 60, size=SIZE, seed=1)
    write_images(root / "tabby", 60, size=SIZE, seed=2)
    return root


@pytest.fixture(scope="module")
def ab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 110 distinct 64x128 AB pairs (A the mirror of B): 11 held out."""
    root = tmp_path_factory.mktemp("ab")
    rng = np.random.default_rng(5)
    for i in range(110):
        b = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([b[:, ::-1], b], axis=1)).save(root / f"ab_{i:03d}.png")
    return root


def _cgan_config(root: Path):
    from gans.cgan import with_classes
    from gans.configs.cgan import CGANConfig

    return with_classes(CGANConfig(image_size=32, channels=3, z_dim=8, g_filters=16, d_filters=8, batch_size=12,
                                   epochs=1, seed=3, quality_samples=24), root)


def _decoded(paths: tuple[str, ...], size: int) -> set[bytes]:
    from gans.data import load_image

    return {load_image(p, size).numpy().tobytes() for p in paths}


def test_cgan_epochs_never_yield_a_held_out_image(classes_dir: Path) -> None:
    from gans.cgan import count_examples, epoch_dataset
    from gans.labelled import labelled_files

    split, config = split_folder(classes_dir), _cgan_config(classes_dir)
    assert len(split.held_out) == 12
    paths, _ = labelled_files(classes_dir, config.class_names, part="train")
    assert set(paths) == set(split.train) and count_examples(config, classes_dir) == 108
    held, train = _decoded(split.held_out, 32), _decoded(split.train, 32)
    seen = [image.tobytes() for epoch in (0, 1) for images, _ in epoch_dataset(config, classes_dir, epoch)
            for image in images.numpy()]
    assert len(seen) == 2 * 108 and set(seen) == train and not set(seen) & held


def test_cgan_quality_is_measured_against_the_held_out_images_with_their_labels(classes_dir: Path) -> None:
    from gans.cgan import SPEC, build_cgan, quality_images
    from gans.export import to_uint8
    from gans.data import load_image

    split, config = split_folder(classes_dir), _cgan_config(classes_dir)
    real, generated = quality_images(build_cgan(config), config, classes_dir, 100)
    held = {to_uint8(load_image(p, 32)).numpy().tobytes() for p in split.held_out}
    assert len(real) == len(generated) == 12 and {image.tobytes() for image in real} == held
    trained = SPEC.training_images(config, classes_dir, 12)
    assert len(trained) == 12 and not {image.tobytes() for image in trained} & held


def test_cgan_run_reports_the_floor(classes_dir: Path, tmp_path: Path) -> None:
    from gans.cgan import SPEC
    from gans.train import TrainingHooks, train_gan

    metrics = train_gan(SPEC, _cgan_config(classes_dir), classes_dir, tmp_path / "ckpt", TrainingHooks()).metrics
    assert metrics["holdout_images"] == 12 and 0 < metrics["swd_floor"]
    assert metrics["swd_ratio"] == pytest.approx(metrics["swd_mean"] / metrics["swd_floor"], rel=1e-3)


def _pix2pix_config():
    from gans.configs.pix2pix import Pix2PixConfig

    return Pix2PixConfig(image_size=64, ngf=8, ndf=8, seed=3, source="ab", batch_size=11, epochs=1,
                         quality_samples=16)


def _targets(paths: tuple[str, ...]) -> set[bytes]:
    """Decode each AB file's B half as the inference mode does (64 px: no resize)."""
    return {np.asarray(Image.open(p).convert("RGB"))[:, 64:].tobytes() for p in paths}


def test_pix2pix_epochs_never_yield_a_held_out_pair(ab_dir: Path) -> None:
    from gans.export import to_uint8
    from gans.pix2pix import count_examples, pairs_dataset

    split, config = split_folder(ab_dir), _pix2pix_config()
    assert len(split.held_out) == 11 and count_examples(config, ab_dir) == 99
    # The training files, read without jitter so a target names its file.
    seen = [t.tobytes() for _, targets in pairs_dataset(config, ab_dir, training=False, part="train")
            for t in to_uint8(targets).numpy()]
    assert len(seen) == 99 and set(seen) == _targets(split.train)
    jittered = sum(len(x) for x, _ in pairs_dataset(config, ab_dir, training=True, epoch=0))
    assert jittered == 99  # 9 full batches of 11: the held-out 11 are not in the epoch


def test_pix2pix_sheet_and_quality_come_from_held_out_pairs(ab_dir: Path) -> None:
    from gans.pix2pix import SPEC, build

    split, config = split_folder(ab_dir), _pix2pix_config()
    held = _targets(split.held_out)
    _, sheet_targets = SPEC.sample_inputs(config, ab_dir)
    assert {t.tobytes() for t in sheet_targets} <= held
    real, generated = SPEC.quality_images(build(config), config, ab_dir, 100)
    assert len(real) == len(generated) == 11 and {t.tobytes() for t in real} == held
    trained = SPEC.training_images(config, ab_dir, 11)
    assert len(trained) == 11 and not {t.tobytes() for t in trained} & held


def test_pix2pix_run_reports_the_floor(ab_dir: Path, tmp_path: Path) -> None:
    from gans.pix2pix import SPEC
    from gans.train import TrainingHooks, train_gan

    metrics = train_gan(SPEC, _pix2pix_config(), ab_dir, tmp_path / "ckpt", TrainingHooks()).metrics
    assert metrics["holdout_images"] == 11 and 0 < metrics["swd_floor"]


def test_small_folders_hold_nothing_out_and_judge_by_the_training_files(tmp_path: Path) -> None:
    from gans.labelled import labelled_files
    from gans.pairs import pair_files

    write_images(tmp_path / "a", 5, size=SIZE, seed=1)
    write_images(tmp_path / "b", 5, size=SIZE, seed=2)
    assert labelled_files(tmp_path, part="quality") == labelled_files(tmp_path, part="train")
    assert len(labelled_files(tmp_path, part="train")[0]) == 10
    assert pair_files(tmp_path / "a", "quality") == pair_files(tmp_path / "a", "train") != []
