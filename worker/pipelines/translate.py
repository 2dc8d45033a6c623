"""The translate pipeline (image-to-image): every image of a dataset → the model (local or TF Serving) → zip shards."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.records import TranslateMetrics, to_json
from core.states import JobStatus, JobType
from serving.backends import GeneratorBackend, ModelRef, make_backend
from worker.bulk import Block, run_bulk
from worker.context import WorkerContext
from worker.errors import JobInputError
from worker.images import contact_sheet
from worker.pipelines.generate import bulk_options, provenance, record_preview
from worker.pipelines.runner import ClaimedJob, SourceVersion, end_interrupted, finish, require_export, run_job
from worker.reporting import JobReporter

MODEL_BLOCK = 8  # images per model call, always (the last block is padded)
PREVIEW_PAIRS = 8
IMAGE = "image"  # the contract's input name of an image-to-image model (its shape gives the size it takes)
GREY, SKETCH, AS_IS = "grayscale", "sketch", "as-is"  # how a dataset image becomes a model input


def run_translate_job(ctx: WorkerContext, job_id: int) -> None:
    """Translate a queued job's dataset into zip shards, plus a sheet of input/output pairs."""
    run_job(ctx, job_id, lambda job: _translate(ctx, job))


def _translate(ctx: WorkerContext, job: ClaimedJob) -> None:
    source = require_export(job)
    if job.data_dir is None or not job.data_dir.is_dir():
        raise JobInputError(f"the dataset folder {job.data_dir} is missing; upload the images again")
    from gans.data import list_images

    paths = sorted(Path(p) for p in list_images(job.data_dir))
    if not paths:
        raise JobInputError("the dataset has no images to translate")
    started, backend = time.monotonic(), make_backend(ctx.settings)
    try:
        preparation = input_preparation(recorded_source(source.export_dir), bool(job.params.get("from_photos")))
        translated = TranslatedImages(backend, source, job.data_dir, paths, preparation)
        options = bulk_options(ctx, job.params, len(paths), MODEL_BLOCK, provenance(job, source))
        outcome = run_bulk(ctx, job.id, translated, options, JobReporter(ctx, job.id))
        if outcome.interrupted:
            end_interrupted(ctx, job.id, JobType.TRANSLATE)
            return
        if job.params.get("grid", True):
            count = min(PREVIEW_PAIRS, len(paths))
            pairs = np.concatenate([translated.inputs(0, count), translated.outputs(0, count)], 2)
            record_preview(ctx, job.id, contact_sheet(pairs, columns=2), {"pairs": len(pairs)})
    finally:
        backend.close()
    seconds = time.monotonic() - started
    finish(ctx, job.id, JobStatus.SUCCEEDED, metrics=to_json(TranslateMetrics(
        images=outcome.images, shards=outcome.shards, seconds=round(seconds, 3))))


class TranslatedImages:
    """The model's output for dataset images by index (sorted paths), in whole blocks of MODEL_BLOCK."""

    def __init__(self, backend: GeneratorBackend, source: SourceVersion, root: Path, paths: list[Path],
                 preparation: str) -> None:
        self.backend, self.source, self.root, self.paths, self.preparation = backend, source, root, paths, preparation
        self.model = ModelRef(source.name, source.version, source.export_dir, source.signature)
        self.image_size = int(source.signature.input(IMAGE).shape[1])  # (N, S, S, C)

    def inputs(self, start: int, stop: int) -> np.ndarray:
        return load_inputs(self.paths[start:stop], self.image_size, self.preparation)

    def outputs(self, start: int, stop: int) -> np.ndarray:
        out = []
        for block_start in range(start - start % MODEL_BLOCK, stop, MODEL_BLOCK):
            inputs = self.inputs(block_start, min(block_start + MODEL_BLOCK, len(self.paths)))
            padded = np.concatenate([inputs, np.repeat(inputs[-1:], MODEL_BLOCK - len(inputs), axis=0)])
            result = self.backend.predict(self.model, {IMAGE: padded})
            out.append(result[max(start - block_start, 0):min(stop - block_start, len(inputs))])
        return np.concatenate(out)

    def __call__(self, start: int, stop: int) -> Block:
        relative = [p.relative_to(self.root) for p in self.paths[start:stop]]
        return Block(self.outputs(start, stop), [str(r.with_suffix("")) for r in relative],
                     [{"index": start + i, "source": str(r)} for i, r in enumerate(relative)])


def recorded_source(export_dir: Path) -> str | None:
    """The pairs its training drew (pix2pix's `source`: edges, grayscale, ab) as its export recorded; None if not."""
    try:
        metadata = json.loads((export_dir / "metadata.json").read_text())
    except (OSError, ValueError):
        return None
    found = metadata.get("source") or (metadata.get("params") or {}).get("source")
    return found if isinstance(found, str) else None


def input_preparation(source: str | None, from_photos: bool) -> str:
    """Prepare inputs the way the model was trained: grey for colourisation, sketches of photos for edges."""
    if source == GREY:
        return GREY  # colour photos become grey; grey ones are already their own grey
    if source == "ab" and from_photos:
        raise JobInputError("this model was trained on AB pairs; from_photos does not apply: give it images like "
                            "the A (input) halves it learned from, with from_photos false")
    return SKETCH if from_photos else AS_IS


def load_inputs(paths: list[Path], image_size: int, preparation: str) -> np.ndarray:
    """uint8 (N, S, S, 3) model inputs: centre-cropped, resized, then made grey or sketched as `preparation` says."""
    import tensorflow as tf

    from gans.data import load_image
    from gans.edges import edge_sketch
    from gans.export import to_uint8
    from gans.pairs import grey_photo

    images = np.stack([to_uint8(load_image(tf.constant(str(p)), image_size, 3)).numpy() for p in paths])
    if preparation == GREY:
        return grey_photo(tf.constant(images)).numpy()
    return np.stack([edge_sketch(i) for i in images]) if preparation == SKETCH else images
