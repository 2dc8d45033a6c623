"""Figure: precision and compilation. The cpu-profile DCGAN's bare train_step (in-memory batches) in float32
vs the same step in mixed_bfloat16 and in float32 compiled by XLA (jit_compile), interleaved in one run; the
measurement behind `precision: "auto"`'s CPU pick and jit_compile's default (gans.precision, gans.config)."""

from __future__ import annotations

from bench.figures import Context
from bench.harness import Figure, interleave

CONTENDERS = {"float32": "cpu-float32", "bf16": "cpu-bf16", "xla": "cpu-xla"}
LABELS = {"float32": "float32", "bf16": "mixed_bfloat16", "xla": "float32 + XLA (jit_compile)"}


def run(ctx: Context) -> Figure:
    """Alternate a bare block of each variant per round; each variant's images/s over float32's."""
    keys = {name: ctx.loop("bare", recipe) for name, recipe in CONTENDERS.items()}
    results = interleave(ctx.rounds, {name: (lambda key=key: ctx.step_seconds(key)) for name, key in keys.items()})
    batch = ctx.sizes.batch_size
    figure = Figure("precision", f"Precision and compilation: cpu-profile DCGAN {ctx.sizes.image_size} px, "
                                 f"batch {batch}, bare train_step")
    for name in ("bf16", "xla"):
        figure.ratio(name, f"{LABELS[name]} images/s / float32 images/s",
                     [f / v for f, v in zip(results["float32"], results[name], strict=True)])
    for name, seconds in results.items():
        figure.value(name, LABELS[name], [batch / s for s in seconds], "images/s")
    figure.notes.append("above 1: the variant is faster than float32; each block runs "
                        f"{ctx.sizes.bare_steps} steps after {ctx.sizes.warmup} untimed (tracing) ones")
    return figure
