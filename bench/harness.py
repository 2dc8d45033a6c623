"""What every figure shares: interleaved rounds, medians and spreads, machine info, and TensorFlow children.

The orchestrating process (`python -m bench`) never imports TensorFlow: it starts the deployment and the
children that do (bench.child), so nothing forks after TensorFlow loads and each side of a ratio runs in
a process of the same kind.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPLY = "BENCH "  # prefix of the JSON lines a child answers with (TensorFlow may print too)
CPU_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def spread(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min, max, quartiles and the samples themselves (rounded for the JSON)."""
    values = [float(v) for v in samples]
    quartiles = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "q1": quartiles[0],
            "q3": quartiles[2], "n": len(values), "samples": [round(v, 6) for v in values]}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; the only value of a single sample."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def interleave(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run each contender once per round, in reversed order every other round (A B, B A, ...) to cancel drift."""
    names, results = list(contenders), {name: [] for name in contenders}
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            results[name].append(contenders[name]())
    return results


@dataclass
class Figure:
    """One figure's outcome: named ratios (each with its goal, if any) and the values they come from."""

    key: str
    title: str
    ratios: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ratio(self, name: str, label: str, samples: Sequence[float], goal: float | None = None,
              higher_is_better: bool = True) -> None:
        """Record a ratio's samples (one per round) under `name`."""
        self.ratios[name] = {"label": label, "goal": goal, "higher_is_better": higher_is_better} | spread(samples)

    def value(self, name: str, label: str, samples: Sequence[float], unit: str) -> None:
        """Record a measured value's samples under `name`."""
        self.values[name] = {"label": label, "unit": unit} | spread(samples)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "ratios": self.ratios, "values": self.values, "notes": self.notes}


def cpu_info() -> dict[str, Any]:
    """CPU model, logical cores (and those this process may use), and the vector extensions TensorFlow cares for."""
    text = Path("/proc/cpuinfo").read_text(errors="replace") if Path("/proc/cpuinfo").exists() else ""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", platform.processor()), "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)), "flags": [f for f in CPU_FLAGS if f in flags]}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """Where the run happened: CPU, memory, load, Python, TensorFlow, Keras and the commit measured."""
    memory = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1] if Path("/proc/meminfo").exists() else 0
    return {"cpu": cpu_info(), "memory_gb": round(int(memory) / 2**20, 1), "load_average": list(os.getloadavg()),
            "python": platform.python_version(), "platform": platform.platform(),
            "tensorflow": _version("tensorflow"), "keras": _version("keras"), "commit": _commit()}


class Child:
    """A long-lived `python -m bench.child` process: one JSON command per line in, one JSON answer out."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        full = dict(os.environ) | env | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "bench.child"], cwd=ROOT, env=full, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.path = log

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its answer; RuntimeError with the child's log when it fails."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(REPLY):
                answer = json.loads(line.removeprefix(REPLY))
                if "error" in answer:
                    raise RuntimeError(f"bench child {op} failed: {answer['error']}")
                return answer
        raise RuntimeError(f"bench child exited during {op}:\n{self.path.read_text(errors='replace')[-4000:]}")

    def close(self) -> None:
        """Ask the child to exit; kill it if it will not."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def write_result(out: Path, result: dict[str, Any], prefix: str = "") -> Path:
    """Write one run's JSON as out/<prefix><UTC time>.json and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / (prefix + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + ".json")
    path.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    return path
