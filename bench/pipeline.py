"""Generation contenders (TensorFlow side; runs in bench.child): a whole generate job, the bare forward pass,
and a hand-written pipeline of the same work on all cores (forward + PNG + zip), its PNGs by fpng as the job's.

The job and the bare pass are bench/generate_job.py's (publish, run_job, bare); this module adds the
hand-written pipeline: the forward pass in this process while a process pool PNG-encodes the previous
blocks, written in order into one stored zip, as a person would write it with the standard library.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import zipfile
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import fpng
import numpy as np


def encode_pngs(images: np.ndarray) -> list[bytes]:
    """PNG bytes of each uint8 (H, W, 3) image, by fpng (the job's PNG encoder); runs in a pool process."""
    return [fpng.from_ndarray(np.ascontiguousarray(image)) for image in images]


class Generation:
    """The bench model published in the deployment of this process's CATGAN_* settings, and its contenders."""

    def __init__(self, shard_size: int) -> None:
        from bench import generate_job
        from core.settings import Settings

        self.jobs, self.settings, self.shard_size = generate_job, Settings(), shard_size
        generate_job.publish(self.settings)
        self.ctx = generate_job.worker_context(self.settings)
        self.export_dir = str(Path(str(self.settings.model_repository)) / generate_job.NAME / "1")
        self.workers = os.cpu_count() or 1
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"))
        self.scratch = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))

    def warm(self, count: int) -> dict[str, Any]:
        """Load and trace the model, start the job's encoders and this pool: nothing of that inside a clock."""
        self.jobs.bare(self.export_dir, 3 * self.jobs.BLOCK)
        _, png_bytes = self.jobs.take_shards(self.settings, self.jobs.run_job(self.ctx, count, self.shard_size)[0])
        self.pipeline(count)
        return {"png_bytes": png_bytes, "encode_workers": self.workers}

    def measure(self, kind: str, count: int) -> dict[str, Any]:
        """Wall seconds of `count` images by `kind` (job, bare or pipeline)."""
        if kind == "job":
            job_id, seconds = self.jobs.run_job(self.ctx, count, self.shard_size)
            self.jobs.take_shards(self.settings, job_id)
            return {"seconds": seconds}
        if kind == "bare":
            wall, cpu = self.jobs.bare(self.export_dir, count)
            return {"seconds": wall, "cpu_seconds": cpu}
        return {"seconds": self.pipeline(count)}

    def pipeline(self, count: int) -> float:
        """Forward blocks here, encode them in the pool meanwhile, zip them in order; wall seconds."""
        from gans.config import latent_signature
        from serving.latents import latent_batch
        from serving.local import predict

        block, z_dim = self.jobs.BLOCK, self.jobs.Z_DIM
        signature, path = latent_signature(z_dim, 64, 3), self.scratch / "images.zip"
        pending: deque[tuple[int, Future[list[bytes]]]] = deque()
        start = time.perf_counter()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for first in range(0, count, block):
                images = predict(self.export_dir, signature, {"z": latent_batch(self.jobs.SEED, first, block, z_dim)})
                pending.append((first, self.pool.submit(encode_pngs, images[:count - first])))
                while len(pending) > 2 * self.workers:
                    _write(archive, *pending.popleft())
            while pending:
                _write(archive, *pending.popleft())
        seconds = time.perf_counter() - start
        path.unlink()
        return seconds

    def close(self) -> None:
        self.pool.shutdown()


def _write(archive: zipfile.ZipFile, first: int, future: Future[list[bytes]]) -> None:
    for index, data in enumerate(future.result()):
        archive.writestr(f"cat-{first + index:07d}.png", data)
