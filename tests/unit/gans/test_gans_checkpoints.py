"""Checkpoint integrity: sha256 sidecars, falling back past damaged checkpoints, a clear error when none is left."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gans.checkpoints import CheckpointError, check_intact, run_checkpoints
from gans.configs.dcgan import DCGANConfig
from gans.dcgan import SPEC
from gans.train import Progress, TrainingHooks, train_dcgan, train_gan
from tests.support.images import write_images

# 20 images / batch 8 = 2 steps per epoch; checkpoints at steps 2, 4, 6, of which the last 2 are kept.
TINY = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3, sample_every_steps=4,
                   seed=5, keep_checkpoints=2)


class Hooks(TrainingHooks):
    def __init__(self) -> None:
        self.steps: list[int] = []
        self.checkpoints: list[tuple[str, int, str | None]] = []
        self.kept: list[tuple[list[str], str | None]] = []
        self.warnings: list[str] = []

    def on_progress(self, progress: Progress) -> None:
        self.steps.append(progress.step)

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        self.checkpoints.append((path, step, digest))

    def on_checkpoints_kept(self, kept: list[str], best: str | None) -> None:
        self.kept.append((kept, best))

    def on_warning(self, message: str) -> None:
        self.warnings.append(message)


@dataclass
class Finished:
    data_dir: Path
    run_dir: Path
    metrics: dict[str, float]
    weights: list[np.ndarray]
    hooks: Hooks


def _weights(model) -> list[np.ndarray]:
    return [w for net in (model.generator, model.discriminator) for w in net.get_weights()]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """One uninterrupted 6-step run; tests damage copies of its checkpoint folder."""
    data_dir = tmp_path_factory.mktemp("cats")
    write_images(data_dir, 20, size=40)
    run_dir = tmp_path_factory.mktemp("run") / "ckpt"
    hooks = Hooks()
    result = train_dcgan(TINY, data_dir, run_dir, hooks)
    assert result.step == 6
    return Finished(data_dir, run_dir, dict(result.metrics), _weights(result.model), hooks)


def _copy(finished: Finished, tmp_path: Path) -> Path:
    target = tmp_path / "ckpt"
    shutil.copytree(finished.run_dir, target)
    return target


def _sha256_of_files(prefix: Path) -> str:
    names = sorted(p.name for p in prefix.parent.iterdir()
                   if p.name == f"{prefix.name}.index" or p.name.startswith(f"{prefix.name}.data-"))
    return hashlib.sha256(b"".join((prefix.parent / n).read_bytes() for n in names)).hexdigest()


def _assert_same_values(a: Path, b: Path) -> None:
    """Every saved tensor equal. Not the bytes: in one process Keras numbers the optimizers' names (adam_2)
    into the object graph; a worker's fresh process gives the bytes too (tests/integration/test_resource_faults)."""
    first, second = tf.train.load_checkpoint(str(a)), tf.train.load_checkpoint(str(b))
    names = set(first.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert names == set(second.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"} and len(names) > 50
    for name in sorted(names):
        np.testing.assert_array_equal(first.get_tensor(name), second.get_tensor(name), err_msg=name)


def test_each_save_writes_a_sidecar_with_the_digest_the_hooks_get(finished: Finished) -> None:
    run = finished.run_dir
    assert [(Path(p).name, step) for p, step, _ in finished.hooks.checkpoints] == [
        ("ckpt-2", 2), ("ckpt-4", 4), ("ckpt-6", 6)]
    for path, _, digest in finished.hooks.checkpoints[1:]:
        assert digest == _sha256_of_files(Path(path)) == Path(path + ".sha256").read_text().strip()
    assert not (run / "ckpt-2.index").exists() and not (run / "ckpt-2.sha256").exists()  # pruned with it
    assert (run / "best" / "ckpt-6.sha256").read_text().strip() == _sha256_of_files(run / "best" / "ckpt-6")
    assert finished.hooks.warnings == []


@pytest.mark.parametrize(("damage", "reason"), [
    ("truncate", "its files do not match ckpt-6.sha256"),
    ("truncate, no sidecar", "unreadable: Read less bytes than requested"),  # TensorFlow's IndexError
    ("flip a byte", "its files do not match ckpt-6.sha256"),
])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(finished: Finished, tmp_path: Path,
                                                                  damage: str, reason: str) -> None:
    run = _copy(finished, tmp_path)
    [data] = run.glob("ckpt-6.data-*")
    size = data.stat().st_size
    if damage.startswith("truncate"):
        with data.open("r+b") as fh:
            fh.truncate(size // 2)
    else:
        raw = bytearray(data.read_bytes())
        raw[size // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
        assert data.stat().st_size == size
    if "no sidecar" in damage:
        (run / "ckpt-6.sha256").unlink()

    hooks = Hooks()
    resumed = train_dcgan(TINY, finished.data_dir, run, hooks)
    assert hooks.steps == [5, 6]  # continues from ckpt-4's step counter
    [warning] = hooks.warnings
    assert warning.startswith("resumed from ckpt-4 at step 4 because newer checkpoints could not be restored: "
                              f"ckpt-6 ({reason}")
    assert hooks.kept[0] == ([str(run / "ckpt-4")], str(run / "best" / "ckpt-6"))  # ckpt-6 no longer offered
    assert (resumed.step, resumed.metrics["g_loss"], resumed.metrics["d_loss"]) == (
        6, finished.metrics["g_loss"], finished.metrics["d_loss"])
    for a, b in zip(finished.weights, _weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)  # the same as the run that was never damaged
    # the checkpoint resumed from is reported again (a killed worker may never have), then the new one
    assert [(Path(p).name, step) for p, step, _ in hooks.checkpoints] == [("ckpt-4", 4), ("ckpt-6", 6)]
    check_intact(str(run / "ckpt-6"))  # written again, with a matching sidecar
    assert hooks.kept[-1][0] == [str(run / "ckpt-4"), str(run / "ckpt-6")]


class StopAt(Hooks):
    """Stops the run once it has reached `step` (a cancel: the stopped run checkpoints there)."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.stop_at = step

    def should_stop(self) -> bool:
        return bool(self.steps) and self.steps[-1] >= self.stop_at


def test_a_damaged_mid_epoch_checkpoint_is_written_again_when_the_resumed_run_passes_its_step(
        finished: Finished, tmp_path: Path) -> None:
    run = tmp_path / "ckpt"
    stopping = StopAt(5)
    stopped = train_gan(SPEC, dataclasses.replace(TINY, steps_per_call=1), finished.data_dir, run, stopping)
    assert stopped.step == 5 and [step for _, step, _ in stopping.checkpoints] == [2, 4, 5]  # 5: mid-epoch
    shutil.copytree(run, tmp_path / "before")
    [data] = run.glob("ckpt-5.data-*")
    with data.open("r+b") as fh:
        fh.truncate(data.stat().st_size // 2)

    hooks = Hooks()
    resumed = train_gan(SPEC, dataclasses.replace(TINY, steps_per_call=3), finished.data_dir, run, hooks)
    assert hooks.steps == [5, 6] and resumed.step == 6
    # the chunk stopped at step 5 to write ckpt-5 again: the same values as before the damage (the resume is exact)
    assert [(Path(p).name, step) for p, step, _ in hooks.checkpoints] == [("ckpt-4", 4), ("ckpt-5", 5), ("ckpt-6", 6)]
    assert hooks.checkpoints[1][2] == _sha256_of_files(run / "ckpt-5")
    _assert_same_values(tmp_path / "before" / "ckpt-5", run / "ckpt-5")
    assert hooks.kept[-1][0] == [str(run / "ckpt-5"), str(run / "ckpt-6")]  # ckpt-5 offered again, intact
    for a, b in zip(finished.weights, _weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_intact_checkpoint_is_an_error_naming_each_and_why(finished: Finished, tmp_path: Path) -> None:
    run = _copy(finished, tmp_path)
    for data in run.glob("ckpt-*.data-*"):
        with data.open("r+b") as fh:
            fh.truncate(10)
    hooks = Hooks()
    with pytest.raises(CheckpointError) as caught:
        train_dcgan(TINY, finished.data_dir, run, hooks)
    message = str(caught.value)
    assert message == (
        f"no checkpoint could be restored: {run}/ckpt-6 (its files do not match ckpt-6.sha256 (sha256 "
        f"{_sha256_of_files(run / 'ckpt-6')[:12]}…, expected {_sha256_of_files(finished.run_dir / 'ckpt-6')[:12]}…)); "
        f"{run}/ckpt-4 (its files do not match ckpt-4.sha256 (sha256 {_sha256_of_files(run / 'ckpt-4')[:12]}…, "
        f"expected {_sha256_of_files(finished.run_dir / 'ckpt-4')[:12]}…)). Put back intact copies of these files, "
        f"or move {run} aside to train this run again from scratch; then resume it.")
    assert hooks.steps == [] and hooks.checkpoints == []  # nothing trained, nothing overwritten

    other = dataclasses.replace(TINY, max_steps=1)
    with pytest.raises(CheckpointError, match=r"ckpt-4 \(its files do not match.*Start from another checkpoint"):
        train_gan(SPEC, other, finished.data_dir, tmp_path / "fresh", Hooks(), init_from=str(run / "ckpt-4"))


def test_candidates_are_newest_first_by_save_order_then_others_on_disk(tmp_path: Path) -> None:
    checkpoint = tf.train.Checkpoint(v=tf.Variable(1.0))
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=5)
    for number in (2, 5, 3):  # 5 was saved before 3: after a fallback, 3 is the newer state
        manager.save(checkpoint_number=number)
    assert [Path(p).name for p in run_checkpoints(manager)] == ["ckpt-3", "ckpt-5", "ckpt-2"]
    (tmp_path / "checkpoint").unlink()  # the manager's state file lost: what is on disk, by number
    fresh = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=5)
    assert [Path(p).name for p in run_checkpoints(fresh)] == ["ckpt-5", "ckpt-3", "ckpt-2"]
