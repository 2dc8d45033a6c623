"""The `precision` setting (TF-free): which Keras dtype policy a run's nets are built under, and what "auto" picks.

- `float32`: every layer computes and stores in float32 (every run before this setting).
- `mixed_bfloat16`: layers compute in bfloat16, variables stay float32; no loss scaling (bfloat16 has
  float32's exponent range). Hardware with bfloat16 units (AVX512_BF16/AMX CPUs, TPUs, Ampere+ GPUs) gains.
- `mixed_float16`: layers compute in float16 and the optimizers are wrapped in a LossScaleOptimizer (float16
  underflows small gradients otherwise); the GPU choice (tensor cores).
- `auto` (the default): `mixed_float16` where the worker sees a GPU; on a CPU `mixed_bfloat16` when it has
  bfloat16 instructions (AVX512_BF16 or AMX-BF16), else `float32` (bfloat16 is emulated, slowly, without them).

Every net's last layer (G's images, D's logits) is float32 whatever the policy, so losses are computed in
float32 and exports keep their float32 signatures. The CPU pick is what bench's `precision` figure measured
(BENCHMARKS.md): the cpu-profile DCGAN step at 64 px, batch 64, ran 1.76x as fast in mixed_bfloat16 as in
float32 on this 2-core AMX machine (5 interleaved rounds; a 3-round run: 2.05x).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from gans.errors import ConfigError

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
CONCRETE_PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
GPU_AUTO = "mixed_float16"
BF16_CPU_AUTO = "mixed_bfloat16"  # a CPU with bfloat16 instructions: bench's precision figure, 1.76x float32
PLAIN_CPU_AUTO = "float32"
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # /proc/cpuinfo's names of the bfloat16 instructions
PRE_PRECISION = "float32"  # what a run recorded before this setting existed was trained with
DOC = ('dtype policy of every net: "float32", "mixed_bfloat16" (bfloat16 compute, float32 weights), '
       '"mixed_float16" (with loss scaling) or "auto": mixed_float16 if the worker sees a GPU, mixed_bfloat16 on a '
       'CPU with bfloat16 instructions (AVX512_BF16/AMX; measured 1.76x float32 there, BENCHMARKS.md), else float32; '
       'the last layers, the losses and the exported signature stay float32; the job records the pick')


@functools.cache
def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Tell whether this machine's CPU lists bfloat16 instructions (AVX512_BF16 or AMX-BF16)."""
    path = Path(cpuinfo)
    if not path.exists():
        return False
    flags = {flag for line in path.read_text(errors="replace").splitlines() if line.startswith("flags")
             for flag in line.split(":", 1)[-1].split()}
    return bool(flags & BF16_FLAGS)


def pick_precision(precision: str, has_gpu: bool, bf16_cpu: bool | None = None) -> str:
    """Return the concrete precision `precision` stands for on a worker that does (not) see a GPU
    (bf16_cpu: whether its CPU has bfloat16 instructions; None: read this machine's)."""
    if precision == "auto":
        if has_gpu:
            return GPU_AUTO
        return BF16_CPU_AUTO if (cpu_has_bf16() if bf16_cpu is None else bf16_cpu) else PLAIN_CPU_AUTO
    if precision not in CONCRETE_PRECISIONS:
        raise ConfigError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    return precision


def resolve_precision(config: Any, has_gpu: bool, recorded: dict[str, Any] | None = None) -> Any:
    """Return config with "auto" precision picked: the recorded run's pick when there is one (a resume trains
    as its first start did, whatever devices it sees now; a record from before the setting: float32)."""
    if config.precision != "auto":
        return config
    if recorded is not None:
        return dataclasses.replace(config, precision=recorded.get("precision", PRE_PRECISION))
    return dataclasses.replace(config, precision=pick_precision("auto", has_gpu))
