"""Figure: what the step computes. The cpu-profile DCGAN's bare train_step in the keras-io order (G's step on
fresh latents: two G forwards a step) vs `reuse_fakes` (one G forward serves both updates, as PyTorch's DCGAN
example does), interleaved in one run, beside the FLOP ratio counted from the layer shapes (bench.loops)."""

from __future__ import annotations

from bench.figures import Context
from bench.harness import Figure, interleave


def run(ctx: Context) -> Figure:
    """Alternate a bare block of each order per round; reuse_fakes' images/s over the keras-io order's."""
    keys = {"twice": ctx.loop("bare", "cpu"), "once": ctx.loop("bare", "cpu-reuse")}
    counted = {name: ctx.child.call("flops", recipe=recipe)["step"]
               for name, recipe in (("twice", "cpu"), ("once", "cpu-reuse"))}
    results = interleave(ctx.rounds, {name: (lambda key=key: ctx.step_seconds(key)) for name, key in keys.items()})
    batch = ctx.sizes.batch_size
    figure = Figure("step", f"What the step computes: cpu-profile DCGAN {ctx.sizes.image_size} px, batch {batch}, "
                            "bare train_step, G forward twice (keras-io order) vs once (reuse_fakes)")
    figure.ratio("reuse", "reuse_fakes images/s / keras-io order images/s",
                 [t / o for t, o in zip(results["twice"], results["once"], strict=True)])
    figure.value("counted", "counted FLOPs, keras-io order / reuse_fakes", [counted["twice"] / counted["once"]], "x")
    for name, label in (("twice", "keras-io order (2 G forwards)"), ("once", "reuse_fakes (1 G forward)")):
        figure.value(name, label, [batch / s for s in results[name]], "images/s")
    figure.notes.append("the counted ratio leaves out DiffAugment, the EMA update, BatchNorm and activations, "
                        "which both orders run alike (DiffAugment on 3 batches each); each block runs "
                        f"{ctx.sizes.bare_steps} steps after {ctx.sizes.warmup} untimed (tracing) ones")
    return figure
