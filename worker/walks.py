"""Latent walks (core.walks): the latent of every frame, and the animation of the frames.

Seed s's point is latent_batch(s, 0, 1) — the latent of image 0 of a plain generate job of seed s — so
a walk's frame at t = 0 of a step is exactly that image. Between two points the walk follows the great
circle (slerp): Gaussian latents of high dimension lie near a sphere, and a straight line between two
of them cuts through its inside, where the generator saw no latents in training (images grow dull
mid-way). Every number is a function of the params alone, so the same request gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from core.services import artifacts
from core.walks import walk_frame_count
from gans.grid import upscale_for_viewing
from serving.latents import latent_batch
from worker.context import WorkerContext
from worker.reporting import JobReporter

CONTENT_TYPES = {"webp": "image/webp", "gif": "image/gif"}
WALK_KIND = "walk"


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction t along the great circle from a to b (t = 0: a itself, t = 1: b itself), float32."""
    if t == 0.0:
        return a.copy()
    if t == 1.0:
        return b.copy()
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cos = np.dot(a64, b64) / max(np.linalg.norm(a64) * np.linalg.norm(b64), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:  # (anti)parallel: no one great circle, the straight line will do
        return ((1.0 - t) * a64 + t * b64).astype(np.float32)
    return ((np.sin((1.0 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)).astype(np.float32)


@dataclass(frozen=True)
class WalkFrame:
    """Where one frame lies: between from_seed and to_seed, a fraction t of the way."""

    index: int
    t: float
    from_seed: int
    to_seed: int

    def provenance(self) -> dict[str, Any]:
        """The frame's manifest fields."""
        return {"index": self.index, "frame": self.index, "t": self.t, "from_seed": self.from_seed,
                "to_seed": self.to_seed}


class WalkPath:
    """The frames of a walk's params (core.walks.resolve_walk): `frames` per step, seed to seed."""

    def __init__(self, walk: dict[str, Any], z_dim: int) -> None:
        self.seeds, self.frames, self.loop = [int(s) for s in walk["seeds"]], int(walk["frames"]), bool(walk["loop"])
        self.stops = self.seeds + self.seeds[:1] if self.loop else self.seeds  # a loop walks back to the first
        self.points = [latent_batch(seed, 0, 1, z_dim)[0] for seed in self.stops]  # (z_dim,) each
        self.count = walk_frame_count(len(self.seeds), self.frames, self.loop)

    def frame(self, index: int) -> WalkFrame:
        """Frame `index` (0 <= index < count); the last frame of a walk that does not loop is its last seed."""
        step, t = self._locate(index)
        return WalkFrame(index, t, self.stops[step], self.stops[step + 1])

    def latents(self, start: int, count: int) -> np.ndarray:
        """z (count, z_dim) of frames start..start+count-1; indices past the end repeat the last frame."""
        z = []
        for index in range(start, start + count):
            step, t = self._locate(min(index, self.count - 1))
            z.append(slerp(self.points[step], self.points[step + 1], t))
        return np.stack(z)

    def _locate(self, index: int) -> tuple[int, float]:
        """The step (from stop `step` to the next) frame `index` lies on, and how far along it."""
        step, offset = divmod(index, self.frames)
        if step == len(self.stops) - 1:  # the closing frame of a walk that does not loop: the end of the last step
            step, offset = step - 1, self.frames
        return step, offset / self.frames


def render_animation(frames: np.ndarray, fmt: str, fps: int) -> bytes:
    """Encode uint8 frames (N, H, W, C), each enlarged (nearest) to >= 512 px wide, as a looping WebP or GIF."""
    pictures = [Image.fromarray(_rgb(upscale_for_viewing(frame))) for frame in frames]
    buffer = io.BytesIO()
    duration = round(1000 / fps)  # ms per frame (GIF keeps centiseconds)
    if fmt == "gif":
        pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=duration,
                         loop=0, optimize=False, disposal=1)
    else:  # lossless, so the frames are the model's pixels; method 0 is the fastest, same bytes every time
        pictures[0].save(buffer, format="WEBP", save_all=True, append_images=pictures[1:], duration=duration,
                         loop=0, lossless=True, method=0, quality=100)
    return buffer.getvalue()


def record_walk(ctx: WorkerContext, job_id: int, frames: np.ndarray, walk: dict[str, Any]) -> None:
    """Store a walk's animation as the job's `walk.webp` or `walk.gif` artifact (kind walk)."""
    fmt = walk["format"]
    data = render_animation(frames, fmt, int(walk["fps"]))
    info = {"frames": len(frames), "fps": walk["fps"], "seeds": walk["seeds"], "loop": walk["loop"],
            "format": fmt, **({"class": walk["class"]} if walk.get("class") else {})}
    JobReporter(ctx, job_id).write(lambda session: artifacts.add_artifact_bytes(
        session=session, settings=ctx.settings, job_id=job_id, kind=WALK_KIND, name=f"walk.{fmt}", data=data,
        content_type=CONTENT_TYPES[fmt], info=info), "walk animation")  # only while this worker holds the lease


def _rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) from (H, W, 1) grey or (H, W, 3): animations are RGB."""
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
