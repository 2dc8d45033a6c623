"""Figure 2, against the reference loops: a job on the cpu nets without DiffAugment and EMA (as the tutorial)
vs TensorFlow's DCGAN tutorial step and Keras' fit(steps_per_execution) on the same nets and in-memory data."""

from __future__ import annotations

from bench.figures import Context, train_job
from bench.harness import Figure, interleave


def run(ctx: Context) -> Figure:
    """Alternate the job, the tutorial loop and fit per round; the job's images/s over each."""
    tutorial, fit = ctx.loop("tutorial", "plain"), ctx.loop("fit", "plain")
    results = interleave(ctx.rounds, {"job": lambda: train_job(ctx, "plain")["images_per_second"],
                                      "tutorial": lambda: ctx.step_seconds(tutorial),
                                      "fit": lambda: ctx.step_seconds(fit)})
    batch = ctx.sizes.batch_size
    rates = {"job": results["job"], **{k: [batch / s for s in results[k]] for k in ("tutorial", "fit")}}
    figure = Figure("reference", f"Against the reference loops: DCGAN {ctx.sizes.image_size} px, batch {batch}, "
                                 "cpu nets, no DiffAugment, no EMA")
    for name, label in (("tutorial", "TF DCGAN tutorial step"), ("fit", f"Keras fit, steps_per_execution="
                                                                         f"{ctx.sizes.per_execution}")):
        figure.ratio(name, f"job images/s / {label} images/s",
                     [j / r for j, r in zip(rates["job"], rates[name], strict=True)], goal=1.0)
    for name, label in (("job", "job, steady"), ("tutorial", "TF tutorial step"), ("fit", "Keras fit")):
        figure.value(name, label, rates[name], "images/s")
    figure.notes.append("the tutorial step draws one generator forward and two discriminator forwards per step, "
                        "the job's (and fit's, which runs the same train_step) two and three")
    figure.notes.append("TODO: pix2pix at 256 px against the pix2pix tutorial's step is not measured yet")
    return figure
