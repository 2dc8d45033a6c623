"""Latent walks: a generate job's `walk` option checked and completed into the params its worker renders.

A walk visits seeds in order, each seed's point being the latent of image 0 of a plain generate job of
that seed (serving.latents), and spherically interpolates `frames` frames from each point to the next.
The job's images are the walk's frames (its count is their number), and it renders them as one
animation. Everything the frames depend on is kept in the job's params, so the same request makes the
same bytes.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput

WALK_FORMATS = ("webp", "gif")
MIN_SEEDS, MAX_SEEDS = 2, 64
MIN_FRAMES, MAX_FRAMES = 2, 120  # per step from one seed to the next
MAX_WALK_FRAMES = 300  # in all: 25 s at 12 fps; every frame of the animation is held in memory to encode it
MIN_FPS, MAX_FPS = 1, 50
DEFAULT_FRAMES, DEFAULT_FPS, DEFAULT_FORMAT = 16, 12, "webp"


def walk_frame_count(seeds: int, frames: int, loop: bool) -> int:
    """Frames of a walk: `frames` per step, plus the last seed's own frame unless it loops back to the first."""
    return (seeds if loop else seeds - 1) * frames + (0 if loop else 1)


def resolve_walk(walk: dict[str, Any], *, seed: int, classes: list[str], version_id: int) -> dict[str, Any]:
    """The walk's params: its seeds (given, or `points` seeds from the job's seed on), frames, fps, format, loop,
    class (conditional models: one class for the whole walk, default the first) and its frame count.

    Raises:
        InvalidInput: seeds and points both or neither given, a class the model does not know (or any class for
            a model without classes), or more than MAX_WALK_FRAMES frames in all.
    """
    if ("seeds" in walk) == ("points" in walk):
        raise InvalidInput("a walk gives either seeds (the seeds to visit) or points (how many seeds from the job's "
                           "seed on)", fields={"walk": {"seeds": ["Give either seeds or points."]}})
    seeds = [int(s) for s in walk["seeds"]] if "seeds" in walk else [seed + k for k in range(int(walk["points"]))]
    frames, loop = int(walk.get("frames", DEFAULT_FRAMES)), bool(walk.get("loop", False))
    count = walk_frame_count(len(seeds), frames, loop)
    if count > MAX_WALK_FRAMES:
        raise InvalidInput(f"this walk would have {count} frames, more than {MAX_WALK_FRAMES}; use fewer seeds or "
                           "fewer frames per step", fields={"walk": {"frames": [f"At most {MAX_WALK_FRAMES} in all."]}})
    return {"seeds": seeds, "frames": frames, "loop": loop, "fps": int(walk.get("fps", DEFAULT_FPS)),
            "format": walk.get("format", DEFAULT_FORMAT), "class": _walk_class(walk.get("class"), classes, version_id),
            "count": count}


def _walk_class(asked: str | None, classes: list[str], version_id: int) -> str | None:
    """The one class a conditional model's walk draws: the asked one, else the first (image 0's class)."""
    if not classes:
        if asked is not None:
            raise InvalidInput(f"model version {version_id} is not conditional; leave out walk.class",
                               fields={"walk": {"class": ["The model has no classes."]}})
        return None
    if asked is None:
        return classes[0]
    if asked not in classes:
        raise InvalidInput(f"unknown class {asked!r}; the model knows {', '.join(classes)}",
                           fields={"walk": {"class": [f"Unknown: {asked}."]}})
    return asked
