"""One module per figure; each has `run(ctx: Context) -> Figure`. What they share: the run's sizes, the
deployment, the TensorFlow child, and a train job submitted and read back through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.deploy import Deployment
from bench.harness import Child

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cat-faces-64"


@dataclass(frozen=True)
class Sizes:
    """How much each figure measures: the full run's, or --tiny's (seconds in all, for CI)."""

    image_size: int = 64
    batch_size: int = 64
    job_steps: int = 60  # per training job (one epoch is ~36 steps at batch 64: a checkpoint falls inside)
    bare_steps: int = 20  # per timed block of a bare / reference loop
    warmup: int = 3  # untimed (tracing) steps of each loop
    memory_batches: int = 8  # decoded into memory for the loops
    per_execution: int = 10  # fit's steps_per_execution
    matmul_size: int = 2048
    matmul_repeats: int = 6
    images: int = 10_000  # per generation measurement
    gen_warmup: int = 640
    shard_size: int = 10_000
    rss_counts: tuple[int, ...] = (10_000, 100_000)
    latency_jobs: int = 3  # per round
    load_seconds: float = 3.0
    clients: int = 16
    job_rows: tuple[int, ...] = (1_000, 100_000)
    pix2pix_size: int = 256  # the recipe's pix2pix, batch 1
    pix2pix_ngf: int = 64
    pix2pix_pairs: int = 8  # in memory
    pix2pix_steps: int = 10  # per timed block


TINY = Sizes(image_size=32, batch_size=16, job_steps=4, bare_steps=3, warmup=1, memory_batches=2, per_execution=2,
             matmul_size=256, matmul_repeats=2, images=128, gen_warmup=64, shard_size=10_000, rss_counts=(64, 256),
             latency_jobs=1, load_seconds=0.3, clients=16, job_rows=(50, 500), pix2pix_size=64, pix2pix_ngf=8,
             pix2pix_pairs=2, pix2pix_steps=2)


@dataclass
class Context:
    """What the figures of one run share."""

    sizes: Sizes
    rounds: int
    deploy: Deployment
    child: Child
    data: Path
    dataset: int = 0
    built: set[str] = field(default_factory=set)
    loaded: bool = False

    def loop(self, loop: str, recipe: str) -> str:
        """The child's key of a loop, built (and warmed up) on first use."""
        key = f"{loop}:{recipe}"
        if not self.loaded:
            self.child.call("load", data=str(self.data), image_size=self.sizes.image_size,
                            batch_size=self.sizes.batch_size, batches=self.sizes.memory_batches)
            self.loaded = True
        if key not in self.built:
            self.child.call("setup", loop=loop, recipe=recipe, warmup=self.sizes.warmup,
                            per_execution=self.sizes.per_execution)
            self.built.add(key)
        return key

    def step_seconds(self, key: str) -> float:
        """Seconds per step of a built loop, over one timed block."""
        return self.child.call("run", key=key, steps=self.sizes.bare_steps)["seconds"] / self.sizes.bare_steps


def stamp(text: str) -> float:
    """POSIX seconds of an API timestamp (RFC 3339 with its offset)."""
    return datetime.fromisoformat(text).timestamp()


def train_params(sizes: Sizes, recipe: str, steps: int) -> dict[str, Any]:
    """A train job's params: the cpu profile at the run's size ("plain": no DiffAugment, no EMA)."""
    params = {"profile": "cpu", "image_size": sizes.image_size, "batch_size": sizes.batch_size,
              "max_steps": steps, "seed": 0}
    return params | ({"diffaugment": False, "ema_decay": 0.0} if recipe == "plain" else {})


def train_job(ctx: Context, recipe: str) -> dict[str, float]:
    """Submit a train job, wait for it and read its history: steady images/s, time to step 1, whole wall time."""
    client, sizes = ctx.deploy.client(), ctx.sizes
    body = {"type": "train", "model": "dcgan", "dataset": ctx.dataset,
            "params": train_params(sizes, recipe, sizes.job_steps)}
    job_id = client.ok("POST", "/v1/jobs", body)["id"]
    done = client.wait_job(job_id, poll=1.0)
    if done["status"] != "succeeded":
        raise RuntimeError(f"bench train job {job_id} {done['status']}: {done.get('error')}")
    points = [p for p in client.ok("GET", f"/v1/jobs/{job_id}/history")["points"] if p["g_loss"] is not None]
    return job_figures(done, points, sizes.batch_size)


def job_figures(job: dict[str, Any], points: list[dict[str, Any]], batch_size: int) -> dict[str, float]:
    """Steady images/s between the progress samples after the first (tracing) step; the times around them."""
    steady = [p for p in points if p["step"] >= 2]
    created = stamp(job["created_at"])
    if len(steady) >= 2 and steady[-1]["step"] > steady[0]["step"]:
        span = stamp(steady[-1]["created_at"]) - stamp(steady[0]["created_at"])
        rate = (steady[-1]["step"] - steady[0]["step"]) * batch_size / span
    else:  # too short a run for two samples: the trainer's own last-window rate
        rate = float(job["metrics"]["images_per_second"])
    first = points[0]
    to_first = stamp(first["created_at"]) - created - (first["step"] - 1) * batch_size / rate
    return {"images_per_second": rate, "first_step_seconds": to_first, "steps": float(job["progress"]["step"]),
            "wall_seconds": stamp(job["finished_at"]) - created}
