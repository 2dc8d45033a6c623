"""Figure 1, service overhead: a training job through the API, the queue and a real worker (progress,
checkpoints and sheets on their default schedule) vs the same model's train_step bare on in-memory batches."""

from __future__ import annotations

from bench.figures import Context, train_job
from bench.harness import Figure, interleave


def run(ctx: Context) -> Figure:
    """Alternate a job and a bare block per round; the job's steady rate, first step and wall time over the bare's."""
    key = ctx.loop("bare", "cpu")
    results = interleave(ctx.rounds, {"job": lambda: train_job(ctx, "cpu"), "bare": lambda: ctx.step_seconds(key)})
    jobs, bare = results["job"], results["bare"]
    batch = ctx.sizes.batch_size
    figure = Figure("service", f"Service overhead: cpu-profile DCGAN {ctx.sizes.image_size} px, batch {batch}, "
                               f"{ctx.sizes.job_steps}-step jobs vs the bare train_step")
    figure.ratio("steady", "job steady images/s / bare train_step images/s",
                 [j["images_per_second"] * s / batch for j, s in zip(jobs, bare, strict=True)], goal=0.95)
    figure.ratio("whole", "steps x bare step time / job wall time (submit to finished)",
                 [j["steps"] * s / j["wall_seconds"] for j, s in zip(jobs, bare, strict=True)])
    figure.value("job_rate", "job, steady", [j["images_per_second"] for j in jobs], "images/s")
    figure.value("bare_rate", "bare train_step", [batch / s for s in bare], "images/s")
    figure.value("first_step", "job: submit to step 1", [j["first_step_seconds"] for j in jobs], "s")
    figure.value("wall", "job: submit to finished", [j["wall_seconds"] for j in jobs], "s")
    figure.notes.append("steady: from the job's progress samples (GET /v1/jobs/{id}/history) after step 1 to its "
                        "last step; the bare loop waits for the host once per block of "
                        f"{ctx.sizes.bare_steps} steps")
    return figure
