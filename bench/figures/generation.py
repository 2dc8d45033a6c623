"""Figure 4, generation: a generate job (run as the worker runs it, after a warm-up job) vs the bare forward pass
and vs a hand-written pipeline of the same work on all cores; peak RSS of a large vs a small job.

The job and the RSS children are bench/generate_job.py's; see that module for the model and the settings."""

from __future__ import annotations

import os
from pathlib import Path

from bench import generate_job
from bench.figures import Context
from bench.harness import Figure, interleave


def run(ctx: Context) -> Figure:
    """Alternate job, bare pass and pipeline per round; then one fresh process per RSS job size."""
    sizes = ctx.sizes
    ctx.child.call("generation_setup", warmup=sizes.gen_warmup, shard_size=sizes.shard_size)
    count = sizes.images
    results = interleave(ctx.rounds, {kind: (lambda kind=kind: count / ctx.child.call("generate", kind=kind,
                                                                                       count=count)["seconds"])
                                      for kind in ("job", "bare", "pipeline")})
    figure = Figure("generation", f"Generation: narrow DCGAN 64 px, {count:,}-image jobs, PNG (fpng); the job's "
                                  f"encoders sized to the cores its model leaves, the pipeline's {os.cpu_count()}")
    figure.ratio("pipeline", "job images/s / hand-written pipeline images/s (forward + PNG + zip, all cores)",
                 [j / p for j, p in zip(results["job"], results["pipeline"], strict=True)], goal=0.9)
    figure.ratio("bare", "job images/s / bare forward pass images/s",
                 [j / b for j, b in zip(results["job"], results["bare"], strict=True)])
    for kind, label in (("job", "generate job"), ("bare", "bare forward pass"), ("pipeline", "hand-written")):
        figure.value(kind, label, results[kind], "images/s")
    peaks = [rss_job(ctx, n) for n in sizes.rss_counts]
    figure.ratio("rss", f"peak RSS, {sizes.rss_counts[-1]:,} / {sizes.rss_counts[0]:,} images",
                 [peaks[-1]["peak_mb"] / peaks[0]["peak_mb"]], goal=1.1, higher_is_better=False)
    for peak in peaks:
        figure.value(f"rss_{peak['count']}", f"job process peak RSS, {peak['count']:,} images", [peak["peak_mb"]],
                     "MB")
    figure.notes.append("the bare pass computes only the forward (its latents included); the job also encodes "
                        "PNGs, hashes nothing, writes shards and a preview grid, and records progress")
    return figure


def rss_job(ctx: Context, count: int) -> dict[str, float]:
    """One job of `count` images in a fresh process (generate_job's rss child): its peak RSS."""
    env = dict(os.environ) | ctx.deploy.env
    return generate_job.child(["--child", "rss", "--rss-job", str(count), "--shard-size",
                               str(ctx.sizes.shard_size)], env, Path(ctx.deploy.home) / "rss.log")
