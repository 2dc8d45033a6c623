"""Figure 2, against the reference loops: a job on the cpu nets without DiffAugment and EMA (as the tutorial)
vs TensorFlow's DCGAN tutorial step and Keras' fit(steps_per_execution) on the same nets and in-memory data;
and pix2pix's own train_step, bare on in-memory pairs, vs the TensorFlow pix2pix tutorial's step on the same
nets (bench/loops_pix2pix.py), at the recipe's 256 px and batch 1."""

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
    pix2pix(ctx, figure)
    return figure


def pix2pix(ctx: Context, figure: Figure) -> None:
    """Alternate pix2pix's bare train_step and the pix2pix tutorial's step per round; bare images/s over tutorial's."""
    sizes = ctx.sizes
    keys = ctx.child.call("pix2pix_setup", data=str(ctx.data), image_size=sizes.pix2pix_size, ngf=sizes.pix2pix_ngf,
                          pairs=sizes.pix2pix_pairs, warmup=sizes.warmup)
    steps = sizes.pix2pix_steps
    results = interleave(ctx.rounds, {kind: (lambda kind=kind: steps / ctx.child.call("run", key=keys[kind],
                                                                                      steps=steps)["seconds"])
                                      for kind in ("bare", "tutorial")})
    where = f"pix2pix {sizes.pix2pix_size} px, batch 1, ngf=ndf={sizes.pix2pix_ngf}"
    figure.ratio("pix2pix_tutorial", f"{where}: bare train_step images/s / TF pix2pix tutorial step images/s",
                 [b / t for b, t in zip(results["bare"], results["tutorial"], strict=True)], goal=1.0)
    figure.value("pix2pix_bare", f"{where}: train_step, bare", results["bare"], "images/s")
    figure.value("pix2pix_tutorial", f"{where}: TF pix2pix tutorial step", results["tutorial"], "images/s")
    figure.notes.append(f"pix2pix: both loops train the nets of gans.pix2pix.build on {keys['pairs']} in-memory "
                        "(edge sketch, photo) pairs made from the run's images; both draw one G forward and two D "
                        "forwards per step from two tapes, so the ratio is the cost of the model's own step code "
                        "(its RNG-driven dropout, its loss helpers) against the tutorial's")
