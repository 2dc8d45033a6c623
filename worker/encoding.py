"""Image encoding for bulk jobs: PNG/JPEG bytes and perceptual hashes, in a pool of processes.

PNGs are written by fpng (lossless; on cat faces 15-25x as fast as Pillow's zlib level 1, files ~20% larger: see
BENCHMARKS.md's encoder table, `python -m bench.encoders`); JPEGs by Pillow (simplejpeg is faster but its pixels
differ from Pillow's at the same quality, and a resumed job must encode as it began). Encoding runs in worker
processes while the model draws the next batch, as many as the cores the forward pass leaves (at least one,
which encodes inline). The pool starts with `forkserver`, never `fork`: the job process has TensorFlow loaded,
and forking it is unsafe.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass

import fpng
import numpy as np
from PIL import Image

from core.formats import JPEG_QUALITY

EXTENSIONS = {"png": "png", "jpeg": "jpg"}
PNG_LEVEL = 1


@dataclass(frozen=True)
class ImageFormat:
    """How images are written: `png` (lossless) or `jpeg` at `quality`."""

    name: str = "png"
    quality: int = JPEG_QUALITY  # jpeg only

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.name]


def encode_image(image: np.ndarray, fmt: ImageFormat) -> bytes:
    """Bytes of one uint8 (H, W, C) image; the same pixels always give the same bytes."""
    if fmt.name == "png" and image.shape[-1] in (3, 4):
        return fpng.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8))
    buffer = io.BytesIO()
    picture = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
    if fmt.name == "jpeg":
        picture.save(buffer, format="JPEG", quality=fmt.quality, optimize=False)
    else:
        # grey (fpng writes 24 and 32 bpp only); zlib level 1: 1.4x faster than Pillow's default 6, no larger
        picture.save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return buffer.getvalue()


def perceptual_hash(image: np.ndarray) -> int:
    """The 64-bit DCT perceptual hash (imagehash.phash) of one uint8 image."""
    import imagehash

    bits = imagehash.phash(Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)).hash
    return int(np.packbits(bits.flatten()).view(">u8")[0])


def encode_batch(images: np.ndarray, fmt: ImageFormat, with_hashes: bool) -> tuple[list[bytes], list[int] | None]:
    """Encode a batch (and hash it for dedupe); runs in a pool process."""
    encoded = [encode_image(image, fmt) for image in images]
    return encoded, [perceptual_hash(image) for image in images] if with_hashes else None


class InlineExecutor(Executor):
    """Runs submissions at once in this process: for one-CPU machines and small jobs."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask, which a container's cpuset narrows), not the host's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def encode_workers(forward_cores: int) -> int:
    """Encoding processes of a bulk job by default (CATGAN_ENCODE_WORKERS=0): the usable cores less the
    `forward_cores` the model's forward pass keeps busy, at least one (one encodes inline, between model calls)."""
    return max(1, usable_cores() - forward_cores)


def encoding_pool(workers: int) -> Executor:
    """A pool of `workers` encoding processes (0: one per usable core); inline when only one would run."""
    workers = workers or usable_cores()
    if workers <= 1:
        return InlineExecutor()
    _allow_children()
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))


def _allow_children() -> None:
    """Let a Celery pool child (where jobs run) start encoder processes.

    Billiard marks its pool children daemonic, which multiprocessing takes to forbid children (a guard
    against orphans: these encoders exit by themselves when their pipe to us closes), and leaves them
    an authkey of billiard's own type, which the forkserver cannot send. Give the process its own.
    """
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    config["daemon"] = False
    config["authkey"] = multiprocessing.process.AuthenticationString(os.urandom(32))
