"""The generate pipeline: latents by (seed, index) → the generator (local or TF Serving) → zip shards."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from core.records import GenerateMetrics, to_json
from core.services import artifacts
from core.settings import Settings
from core.states import JobStatus, JobType
from gans.contract import ModelKind
from gans.grid import upscale_for_viewing
from serving.backends import GeneratorBackend, ModelRef, make_backend
from serving.latents import latent_batch
from worker.bulk import Block, BulkOptions, run_bulk
from worker.context import WorkerContext
from worker.encoding import ImageFormat, encode_image, encode_workers, usable_cores
from worker.images import contact_sheet
from worker.pipelines.runner import ClaimedJob, SourceVersion, end_interrupted, finish, require_export, run_job
from worker.reporting import JobReporter
from worker.walks import WalkPath, record_walk

MODEL_BLOCK = 64  # images per model call, always: see worker.bulk.BlockSource
PREVIEW = 64
LATENT, LABEL = "z", "label"  # the contract's input names of a latent model (gans.contract.make_record)


def run_generate_job(ctx: WorkerContext, job_id: int) -> None:
    """Draw a queued job's images into zip shards, plus a preview sheet."""
    run_job(ctx, job_id, lambda job: _generate(ctx, job))


def _generate(ctx: WorkerContext, job: ClaimedJob) -> None:
    source = require_export(job)
    params, started = job.params, time.monotonic()
    backend = make_backend(ctx.settings)
    try:
        draw = WalkFrames(backend, source, params) if params.get("walk") else LatentImages(backend, source, params)
        options = bulk_options(ctx, params, int(params["count"]), MODEL_BLOCK, provenance(job, source))
        outcome = run_bulk(ctx, job.id, draw, options, JobReporter(ctx, job.id))
        if outcome.interrupted:
            end_interrupted(ctx, job.id, JobType.GENERATE)
            return
        if params.get("grid", True):
            preview = draw.images(0, min(PREVIEW, int(params["count"])))
            record_preview(ctx, job.id, contact_sheet(preview), {"images": len(preview)})
        if isinstance(draw, WalkFrames):
            record_walk(ctx, job.id, draw.images(0, draw.path.count), params["walk"])
    finally:
        backend.close()
    seconds = time.monotonic() - started
    finish(ctx, job.id, JobStatus.SUCCEEDED, metrics=to_json(GenerateMetrics(
        images=outcome.images, duplicates_dropped=outcome.dropped, shards=outcome.shards, seconds=round(seconds, 3),
        images_per_second=round(outcome.processed / seconds, 2))))


def bulk_options(ctx: WorkerContext, params: dict[str, Any], count: int, block_size: int,
                 common: dict[str, Any]) -> BulkOptions:
    """How a generate or translate job writes its images."""
    return BulkOptions(
        count=count, shard_size=int(params.get("shard_size") or ctx.settings.shard_size),
        block_size=block_size, fmt=choose_image_format(params),
        dedupe_distance=params.get("dedupe_distance") if params.get("dedupe") else None,
        encode_workers=ctx.settings.encode_workers or encode_workers(forward_cores(ctx.settings)), common=common)


def forward_cores(settings: Settings) -> int:
    """Cores the model's forward pass keeps busy in this process, which the encoders leave to it.

    None under TF Serving (the model runs there, and this worker never loads TensorFlow); one on a GPU (the
    thread that feeds it); on the CPU TensorFlow's intra-op pool, all usable cores unless configured smaller.
    """
    if settings.generator_backend == "tfserving":
        return 0
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return 1
    return min(tf.config.threading.get_intra_op_parallelism_threads() or usable_cores(), usable_cores())


def provenance(job: ClaimedJob, source: SourceVersion) -> dict[str, Any]:
    """What every manifest line says about where its image came from."""
    fields = {"seed": job.params.get("seed"), "model_name": source.name, "model_version": source.version,
              "training_job": source.training_job, "checkpoint_step": source.step}
    if job.params.get("truncation") is not None:
        fields["truncation"] = job.params["truncation"]
    return {k: v for k, v in fields.items() if v is not None}


class LatentImages:
    """Images by index: z from (seed, index), clipped by `truncation`, labels from `class_counts`.

    What the model takes is what its version recorded: the latent's length from the signature's `z`,
    and a `label` per image only for a conditional model.
    """

    def __init__(self, backend: GeneratorBackend, source: SourceVersion, params: dict[str, Any]) -> None:
        self.backend, self.source = backend, source
        self.model = ModelRef(source.name, source.version, source.export_dir, source.signature)
        self.z_dim = int(source.signature.input(LATENT).shape[-1])
        self.seed, self.truncation = int(params["seed"]), params.get("truncation")
        self.classes = source.classes if source.kind is ModelKind.CONDITIONAL else ()
        counts = params.get("class_counts")
        self.class_ends = np.cumsum([counts[c] for c in self.classes]) if counts and self.classes else None

    def labels(self, start: int, stop: int) -> np.ndarray | None:
        """Class labels of images start..stop-1: class by class with class_counts, else cycling."""
        if not self.classes:
            return None
        indices = np.arange(start, stop)
        if self.class_ends is None:
            return (indices % len(self.classes)).astype(np.int32)
        labels = np.searchsorted(self.class_ends, indices, side="right")
        return np.minimum(labels, len(self.classes) - 1).astype(np.int32)  # padding past the end: any class

    def latents(self, start: int, count: int) -> np.ndarray:
        """z (count, z_dim) of images start..start+count-1: each a function of (seed, index) alone."""
        return latent_batch(self.seed, start, count, self.z_dim)

    def images(self, start: int, stop: int) -> np.ndarray:
        """uint8 images of indices start..stop-1, drawn in whole aligned blocks of MODEL_BLOCK."""
        out = []
        for block_start in range(start - start % MODEL_BLOCK, stop, MODEL_BLOCK):
            z = self.latents(block_start, MODEL_BLOCK)
            if self.truncation is not None:
                np.clip(z, -self.truncation, self.truncation, out=z)
            labels = self.labels(block_start, block_start + MODEL_BLOCK)
            block = self.backend.predict(self.model, {LATENT: z} if labels is None else {LATENT: z, LABEL: labels})
            out.append(block[max(start - block_start, 0):min(stop - block_start, MODEL_BLOCK)])
        return np.concatenate(out)

    def __call__(self, start: int, stop: int) -> Block:
        labels = self.labels(start, stop)
        names, provenance = [], []
        for offset, index in enumerate(range(start, stop)):
            folder = f"{self.classes[labels[offset]]}/" if labels is not None else ""
            names.append(f"{folder}cat-{index:07d}")
            provenance.append({"index": index, "class": self.classes[labels[offset]]} if labels is not None
                              else {"index": index})
        return Block(self.images(start, stop), names, provenance)


class WalkFrames(LatentImages):
    """The frames of a latent walk by index (worker.walks.WalkPath), all of the walk's one class."""

    def __init__(self, backend: GeneratorBackend, source: SourceVersion, params: dict[str, Any]) -> None:
        super().__init__(backend, source, params)
        self.path = WalkPath(params["walk"], self.z_dim)
        self.label = self.classes.index(params["walk"]["class"]) if self.classes else None

    def latents(self, start: int, count: int) -> np.ndarray:
        return self.path.latents(start, count)

    def labels(self, start: int, stop: int) -> np.ndarray | None:
        return None if self.label is None else np.full(stop - start, self.label, np.int32)

    def __call__(self, start: int, stop: int) -> Block:
        frames = [self.path.frame(index) for index in range(start, stop)]
        extra = {"class": self.classes[self.label]} if self.label is not None else {}
        return Block(self.images(start, stop), [f"frame-{f.index:04d}" for f in frames],
                     [f.provenance() | extra for f in frames])


def choose_image_format(params: dict[str, Any]) -> ImageFormat:
    """The format a job's params ask for: jpeg params always carry their quality (core fills it in)."""
    fmt = params.get("format", "png")
    return ImageFormat(fmt, int(params["quality"])) if fmt == "jpeg" else ImageFormat(fmt)


def record_preview(ctx: WorkerContext, job_id: int, sheet: np.ndarray, info: dict[str, Any]) -> None:
    """Store a bulk job's preview sheet as its `grid.png` artifact, only while this worker holds the job's lease."""
    data = encode_image(upscale_for_viewing(sheet), ImageFormat())
    JobReporter(ctx, job_id).write(lambda session: artifacts.add_artifact_bytes(
        session=session, settings=ctx.settings, job_id=job_id, kind="preview_grid", name="grid.png", data=data,
        content_type="image/png", info=info), "preview grid")
