"""Figure 3, the machine's limit: the DCGAN step's FLOP/s, counted from its layer shapes, vs a large float32
matmul's FLOP/s in the same run."""

from __future__ import annotations

from bench.figures import Context
from bench.harness import Figure, interleave


def run(ctx: Context) -> Figure:
    """Alternate a bare block of the cpu-profile step and a block of matmuls; their FLOP/s and ratio."""
    key = ctx.loop("bare", "cpu")
    flops = ctx.child.call("flops", recipe="cpu")
    size, repeats = ctx.sizes.matmul_size, ctx.sizes.matmul_repeats

    def matmul() -> float:
        done = ctx.child.call("matmul", size=size, repeats=repeats)
        return done["flops"] / done["seconds"]

    results = interleave(ctx.rounds, {"step": lambda: flops["step"] / ctx.step_seconds(key), "matmul": matmul})
    figure = Figure("machine", f"The machine's limit: cpu-profile DCGAN step at {ctx.sizes.image_size} px, "
                               f"batch {ctx.sizes.batch_size}, vs a {size}x{size} float32 matmul")
    figure.ratio("flops", "DCGAN step FLOP/s / matmul FLOP/s",
                 [s / m for s, m in zip(results["step"], results["matmul"], strict=True)], goal=0.8)
    figure.value("step", "DCGAN step", [v / 1e9 for v in results["step"]], "GFLOP/s")
    figure.value("matmul", "matmul", [v / 1e9 for v in results["matmul"]], "GFLOP/s")
    figure.value("step_gflop", "counted per step", [flops["step"] / 1e9], "GFLOP")
    figure.notes.append("counted: 2 FLOPs per multiply-add; conv Hout*Wout*Cout*k*k*Cin, transposed conv "
                        "Hin*Win*Cin*k*k*Cout, dense in*out; backward = 2x forward; per image 4 G + 9 D forwards' "
                        "worth (DiffAugment, EMA, BatchNorm and activations not counted)")
    return figure
