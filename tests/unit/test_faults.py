"""describe_failure: resource faults become messages saying what happened and what to do; the rest stays None."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import tensorflow as tf

from gans.checkpoints import CheckpointError
from serving.local import ExportUnreadable
from worker.faults import describe_failure

OOM_TEXT = "OOM when allocating tensor with shape[64,512,8,8] and type float on /job:localhost/device:GPU:0"


def test_out_of_memory_says_to_free_memory_or_shrink_the_job() -> None:
    exc = tf.errors.ResourceExhaustedError(None, None, OOM_TEXT)
    assert describe_failure(exc, job_id=7) == (
        f"out of memory while running the job ({OOM_TEXT}): free memory on the worker (another process may hold "
        "the GPU), then POST /v1/jobs/7/resume; or submit the job again with a smaller batch_size or image_size")
    assert describe_failure(MemoryError()).startswith(
        "out of memory while running the job: free memory on the worker (another process may hold the GPU), "
        "then resume the job (POST /v1/jobs/<id>/resume)")


def test_a_full_disk_names_the_path_and_says_to_free_space_then_resume() -> None:
    exc = OSError(errno.ENOSPC, "No space left on device", "/data/artifacts/job-7/images-00003.zip")
    assert describe_failure(exc, job_id=7) == (
        "the disk holding /data/artifacts/job-7/images-00003.zip is full (No space left on device): free space "
        "there, then POST /v1/jobs/7/resume; it continues from its last intact checkpoint or finished shard")


def test_a_full_disk_inside_a_tensorflow_error_is_not_mistaken_for_memory() -> None:
    # TensorFlow maps ENOSPC to RESOURCE_EXHAUSTED; only the text tells it from an OOM
    text = "/data/checkpoints/job-7/ckpt-12_temp/part-00000-of-00001.data-00000-of-00001; No space left on device"
    tf_error = tf.errors.ResourceExhaustedError(None, None, text)
    assert describe_failure(tf_error, job_id=7) == (
        "the disk holding /data/checkpoints/job-7/ckpt-12_temp/part-00000-of-00001.data-00000-of-00001 is full "
        "(No space left on device): free space there, then POST /v1/jobs/7/resume; it continues from its last "
        "intact checkpoint or finished shard")
    try:  # wrapped: the cause chain is searched
        try:
            raise tf.errors.UnknownError(None, None, "write failed: No space left on device")
        except tf.errors.UnknownError as inner:
            raise RuntimeError("saving the checkpoint failed") from inner
    except RuntimeError as outer:
        wrapped = outer
    assert describe_failure(wrapped, job_id=3) == (
        "the disk holding the worker's data folders is full (No space left on device): free space there, then "
        "POST /v1/jobs/3/resume; it continues from its last intact checkpoint or finished shard")


def test_damaged_checkpoints_and_exports_keep_their_own_message() -> None:
    message = "no checkpoint could be restored: /c/ckpt-6 (unreadable: Read less bytes than requested). Put back..."
    assert describe_failure(CheckpointError(message), job_id=7) == message
    export = ExportUnreadable("the export at /models/cats/1 cannot be loaded (Read less bytes than requested)")
    assert describe_failure(export, job_id=9) == (
        "the export at /models/cats/1 cannot be loaded (Read less bytes than requested): the model version's files "
        "are damaged or incomplete. Restore that folder from a backup (or train and publish the model again), then "
        "POST /v1/jobs/9/resume; or generate from another version meanwhile")


@pytest.mark.parametrize("exc", [
    KeyError("g_loss"), OSError(errno.EACCES, "Permission denied", "/data"), RuntimeError("boom"),
    tf.errors.InvalidArgumentError(None, None, "Incompatible shapes: [8,4] vs. [8,5]"),
])
def test_anything_else_is_not_a_known_fault(exc: BaseException) -> None:
    assert describe_failure(exc, job_id=1) is None


def test_a_damaged_export_is_reported_as_unreadable(tmp_path: Path) -> None:
    from serving.local import load_export

    module = tf.Module()
    module.v = tf.Variable(tf.ones([5000]))
    module.f = tf.function(lambda x: x * module.v[0], input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "cats" / "1"))
    [data] = (tmp_path / "cats" / "1" / "variables").glob("variables.data-*")
    with data.open("r+b") as fh:
        fh.truncate(data.stat().st_size // 2)
    with pytest.raises(ExportUnreadable) as caught:
        load_export(str(tmp_path / "cats" / "1"))
    assert str(caught.value) == (f"the export at {tmp_path}/cats/1 cannot be loaded (Read less bytes than requested)")
    with pytest.raises(ExportUnreadable, match=r"cannot be loaded \(SavedModel file does not exist at: "):
        load_export(str(tmp_path / "missing"))
