"""`python -m bench.child`: the TensorFlow side of the bench, driven one JSON command per stdin line.

Each answer is one stdout line, REPLY + JSON ({"error": ...} when the command raised). State (decoded
images, built loops, the generation context) lives between commands, so the orchestrator can interleave
rounds of several contenders without paying for TensorFlow's start-up or tracing inside a timing.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from bench.harness import REPLY


class State:
    """What the commands build and reuse."""

    def __init__(self) -> None:
        self.images: Any = None
        self.loops: dict[str, Any] = {}
        self.generation: Any = None

    def load(self, data: str, image_size: int, batch_size: int, batches: int) -> dict[str, Any]:
        """Decode `batches` batches of the folder into memory (once per run)."""
        from bench.loops import memory_images

        self.images = memory_images(Path(data), image_size, batch_size, batches)
        self.image_size, self.batch_size = image_size, batch_size
        return {"images": int(self.images.shape[0])}

    def setup(self, loop: str, recipe: str, warmup: int, per_execution: int = 1) -> dict[str, Any]:
        """Build a loop (bare, tutorial or fit) of a recipe and run its warm-up (tracing) steps."""
        from bench import loops

        config = loops.recipe_config(recipe, self.image_size, self.batch_size)
        made = {"bare": lambda: loops.Bare(config, self.images),
                "tutorial": lambda: loops.Tutorial(config, self.images),
                "fit": lambda: loops.Fit(config, self.images, per_execution)}[loop]()
        made.run(warmup)
        key = f"{loop}:{recipe}"
        self.loops[key] = made
        return {"key": key}

    def pix2pix_setup(self, data: str, image_size: int, ngf: int, pairs: int, warmup: int) -> dict[str, Any]:
        """Make the in-memory pairs once, build pix2pix's bare and tutorial loops on them, run their warm-up."""
        from bench import loops_pix2pix as p2p

        config = p2p.pix2pix_config(image_size, ngf)
        memory = p2p.memory_pairs(config, Path(data), pairs)
        keys = {"bare": "pix2pix:bare", "tutorial": "pix2pix:tutorial"}
        for kind, made in (("bare", p2p.Pix2PixBare(config, memory)), ("tutorial", p2p.Pix2PixTutorial(config,
                                                                                                        memory))):
            made.run(warmup)
            self.loops[keys[kind]] = made
        return {"pairs": int(memory[0].shape[0]), **keys}

    def run(self, key: str, steps: int) -> dict[str, Any]:
        """Wall seconds of `steps` steps of a built loop."""
        return {"seconds": self.loops[key].run(steps)}

    def flops(self, recipe: str) -> dict[str, Any]:
        from bench import loops

        return loops.step_flops(loops.recipe_config(recipe, self.image_size, self.batch_size))

    def matmul(self, size: int, repeats: int) -> dict[str, Any]:
        from bench import loops

        return {"seconds": loops.matmul_seconds(size, repeats), "flops": 2 * size**3 * repeats}

    def generation_setup(self, warmup: int, shard_size: int) -> dict[str, Any]:
        """Publish the bench model in this deployment and warm the job, the bare pass and the pipeline up."""
        from bench.pipeline import Generation

        self.generation = Generation(shard_size)
        return self.generation.warm(warmup)

    def generate(self, kind: str, count: int) -> dict[str, Any]:
        """Wall seconds of `count` images made by `kind`: job, bare or pipeline."""
        return self.generation.measure(kind, count)


def main() -> None:
    """Answer commands until stdin closes."""
    state = State()
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command.pop("op")
        try:
            answer = getattr(state, op)(**command)
        except Exception as exc:  # noqa: BLE001 - reported to the orchestrator, which stops the run
            traceback.print_exc()
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(REPLY + json.dumps(answer) + "\n")
        sys.stdout.flush()
    if state.generation is not None:
        state.generation.close()


if __name__ == "__main__":
    main()
