"""`python -m bench.quality`: how close to real cats a run gets in a fixed wall time, judged on held-out faces.

    python -m bench.quality [--runs tutorial,job] [--minutes 30] [--image-size 64] [--data DIR]
                            [--recipe default|quickstart] [--faces] [--samples 1000] [--tiny]
    python -m bench.quality --report    # BENCHMARKS.md's quality section from bench/results/quality-*.json

The runs of one invocation start together and train side by side on the same machine for the same wall
time (`--minutes`), so the machine's load hits them alike:
- `tutorial`: the classic CatDCGAN net (profile "classic") trained the TensorFlow DCGAN tutorial's way
  (one generator forward, two tapes, the training images in memory), in bench.quality_child;
- `job`: a catgan train job through the API, the queue and a real worker (a throwaway deployment as
  `python -m bench` starts it): model `dcgan` with its defaults (profile `auto`) and `max_minutes`, or
  with `--recipe quickstart` the params of `catgan quickstart`. `--faces`: the dataset is the cat faces
  found in the photos of `--data`, cropped at `--image-size`.
Afterwards `--samples` images of each (fixed latents, seed 0; the job's through a generate job) are
compared by the sliced Wasserstein distance with the dataset's held-out split (gans.holdout, never
trained on), beside the floor: as many training images vs the same held-out ones. swd_ratio = SWD /
floor, 1.0 being as close as real cats get. Each invocation writes bench/results/quality-<time>.json and
an 8 x 8 sheet per run (docs/bench/ unless `--sheets`); `--report` keeps the newest result of each run
label. --tiny: seconds of training at 32 px on few samples, so CI keeps the script working.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.deploy import Deployment, Http, deployment
from bench.figures import DATA
from bench.harness import REPLY, ROOT, machine_info, write_result
from bench.quality_report import SHEETS, write_report

RUNS = ("tutorial", "job")
RECIPES = ("default", "quickstart")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated, of tutorial, job")
    parser.add_argument("--minutes", type=float, default=30.0, help="training wall time of every run")
    parser.add_argument("--image-size", type=int, default=64, choices=(32, 64, 128))
    parser.add_argument("--data", type=Path, default=DATA, help="a folder of cat images")
    parser.add_argument("--recipe", default="default", choices=RECIPES, help="the job's params")
    parser.add_argument("--faces", action="store_true", help="train the job on the cat faces found in --data")
    parser.add_argument("--samples", type=int, default=1000, help="generated images per run to judge")
    parser.add_argument("--tiny", action="store_true", help="seconds of training at 32 px, 64 samples")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for the JSON")
    parser.add_argument("--sheets", type=Path, default=SHEETS, help="folder for the sample sheets")
    parser.add_argument("--report", action="store_true", help="only regenerate BENCHMARKS.md's quality section "
                                                              "(of non-tiny results, or with --tiny only tiny ones)")
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "BENCHMARKS.md", help="the file --report rewrites")
    args = parser.parse_args(argv)
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if not args.runs or set(args.runs) - set(RUNS):
        parser.error(f"--runs takes some of {', '.join(RUNS)}")
    if args.faces and "tutorial" in args.runs:
        parser.error("--faces is a dataset option of the job; run the tutorial on a folder of faces")
    if args.tiny:
        args.minutes, args.image_size, args.samples = min(args.minutes, 0.1), 32, 64
    if not args.report and not args.data.is_dir():
        parser.error(f"--data {args.data} is not a folder of images")
    return args


def label(args: argparse.Namespace, run: str) -> str:
    """The run's name in the report: what it trained, at what size, for how long."""
    name = "quickstart" if run == "job" and args.recipe == "quickstart" else run
    return f"{name}{'-faces' if args.faces else ''}-{args.image_size}px-{args.minutes:g}min"


def child(*command: str) -> dict[str, Any]:
    """Run bench.quality_child with `command`; its JSON answer (its output goes to our stderr)."""
    done = subprocess.run([sys.executable, "-m", "bench.quality_child", *command], cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}, check=False)
    answers = [line[len(REPLY):] for line in done.stdout.splitlines() if line.startswith(REPLY)]
    if done.returncode != 0 or not answers:
        raise RuntimeError(f"bench.quality_child {command[0]} exited {done.returncode}")
    return json.loads(answers[-1])


def job_params(args: argparse.Namespace) -> dict[str, Any]:
    """A default dcgan job's params with the time budget, or the quickstart's."""
    if args.recipe == "quickstart":
        from catgan.quickstart import quickstart_params

        return quickstart_params(args.minutes, args.image_size)
    return {"image_size": args.image_size, "max_minutes": args.minutes}


REGISTER_SECONDS = 1800  # finding the faces in 3,000 photos takes minutes on a loaded machine


def register(client: Http, args: argparse.Namespace) -> dict[str, Any]:
    """The dataset of --data (its faces with --faces), as the job reads it."""
    body: dict[str, Any] = {"name": args.data.name, "path": str(args.data.resolve())}
    if args.faces:
        body |= {"faces": "cat", "face_size": args.image_size}
    patient = Http(client.port, client.token, timeout=REGISTER_SECONDS)
    return dict(patient.ok("POST", "/v1/datasets", body))


def dataset_folder(deploy: Deployment, dataset_id: int) -> Path:
    """Where the deployment keeps a dataset's images (a face dataset's crops live under its dataset dir)."""
    from core.db import make_engine, make_session_factory, session_scope
    from core.models import Dataset

    settings = deploy.settings()
    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            path = Path(session.get(Dataset, dataset_id).path)
    finally:
        engine.dispose()
    return path if path.is_absolute() else settings.dataset_dir / path


def train_and_sample(client: Http, args: argparse.Namespace, dataset_id: int, name: str, out: Path) -> dict[str, Any]:
    """Train a job for the budget, then generate --samples images from its model into `out` (.npy)."""
    began = time.monotonic()
    job = client.ok("POST", "/v1/jobs", {"type": "train", "model": "dcgan", "dataset": dataset_id,
                                         "model_name": name, "params": job_params(args)})
    job = client.wait_job(job["id"], timeout=args.minutes * 60 + 3600, poll=2)
    if job["status"] != "succeeded":
        raise RuntimeError(f"train job {job['id']} {job['status']}: {job['error']}")
    wall = time.monotonic() - began
    generation = client.ok("POST", "/v1/jobs", {"type": "generate", "model_version": job["model_version"],
                                                "count": args.samples, "seed": 0, "format": "png"})
    generation = client.wait_job(generation["id"], timeout=1800, poll=1)
    if generation["status"] != "succeeded":
        raise RuntimeError(f"generate job {generation['id']} {generation['status']}: {generation['error']}")
    np.save(out, result_images(client, generation["id"]))
    metrics, params = job["metrics"], job["params"]
    return {"job": job["id"], "steps": metrics["steps"], "images_per_second": metrics.get("images_per_second"),
            "job_wall_seconds": round(wall, 1), "job_swd_ratio": metrics.get("swd_ratio"),
            "profile": metrics.get("profile") or params.get("profile"), "params": params}


def result_images(client: Http, job_id: int) -> np.ndarray:
    """A generate job's images, decoded from its result zip, in index order: (N, S, S, 3) uint8."""
    client.connection.request("GET", f"/v1/jobs/{job_id}/result", headers={"Authorization": f"Bearer {client.token}"})
    response = client.connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET /v1/jobs/{job_id}/result -> {response.status}")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".png") and not n.endswith("grid.png"))
        return np.stack([np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB")) for n in names])


class LoadSampler(threading.Thread):
    """The 1-minute load average every SAMPLE_SECONDS while the runs train: how shared the machine was."""

    SAMPLE_SECONDS = 10.0

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.SAMPLE_SECONDS):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float] | None:
        self.done.set()
        if not self.samples:
            return None
        return {"mean": round(sum(self.samples) / len(self.samples), 2), "max": round(max(self.samples), 2)}


class Background(threading.Thread):
    """A run on its own thread: its answer, or the error it raised."""

    def __init__(self, work: Any) -> None:
        super().__init__(daemon=True)
        self.work, self.answer, self.error = work, None, None

    def run(self) -> None:
        try:
            self.answer = self.work()
        except Exception as exc:  # noqa: BLE001 - recorded in the JSON
            self.error = f"{type(exc).__name__}: {exc}"[:2000]


def run_all(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Start the deployment (if a job runs), then every run at once; score each against the held-out split."""
    runs: dict[str, Any] = {}
    with deployment() if "job" in args.runs else _no_deployment() as deploy:
        threads: dict[str, tuple[Background, Path]] = {}
        data_of: dict[str, Path] = {}
        if "job" in args.runs:
            client = deploy.client()
            dataset = register(client, args)
            data_of["job"] = dataset_folder(deploy, dataset["id"]) if args.faces else args.data
            threads["job"] = (Background(lambda: train_and_sample(client, args, dataset["id"],
                                                                  f"quality-{label(args, 'job')}",
                                                                  scratch / "job.npy")), scratch / "job.npy")
        if "tutorial" in args.runs:
            data_of["tutorial"] = args.data
            threads["tutorial"] = (Background(lambda: child(
                "tutorial", "--data", str(args.data), "--image-size", str(args.image_size), "--minutes",
                str(args.minutes), "--samples", str(args.samples), "--out", str(scratch / "tutorial.npy"))),
                scratch / "tutorial.npy")
        for thread, _ in threads.values():
            thread.start()
        for run, (thread, samples) in threads.items():
            thread.join()
            runs[label(args, run)] = _scored(args, run, thread, samples, data_of[run])
    return runs


def _scored(args: argparse.Namespace, run: str, thread: Background, samples: Path, data: Path) -> dict[str, Any]:
    """A finished run's record: what it did, and its SWD against the held-out images (or its error)."""
    record: dict[str, Any] = {"run": run, "recipe": args.recipe if run == "job" else "tutorial (classic net)",
                              "image_size": args.image_size, "minutes": args.minutes, "faces": args.faces}
    if thread.error is not None:
        return record | {"error": thread.error}
    sheet = args.sheets / f"quality-{label(args, run)}.png"
    args.sheets.mkdir(parents=True, exist_ok=True)
    try:
        scored = child("score", "--data", str(data), "--image-size", str(args.image_size), "--generated",
                       str(samples), "--sheet", str(sheet))
    except RuntimeError as exc:
        return record | thread.answer | {"error": str(exc)}
    shown = str(sheet.resolve().relative_to(ROOT)) if sheet.resolve().is_relative_to(ROOT) else str(sheet)
    return record | thread.answer | scored | {"sheet": shown}


class _no_deployment:  # noqa: N801 - a context manager standing in for `deployment()` when no job runs
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.report:
        print(write_report(args.out, args.benchmarks, tiny=args.tiny))
        return 0
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine, began = machine_info(), time.monotonic()
    load = LoadSampler()
    load.start()
    with tempfile.TemporaryDirectory(prefix="catgan-quality-") as scratch:
        runs = run_all(args, Path(scratch))
    command = "python -m bench.quality " + shlex.join(sys.argv[1:] if argv is None else argv)
    result = {"run": {"started": started, "command": command, "tiny": args.tiny, "data": str(args.data),
                      "seconds": round(time.monotonic() - began, 1), "load_after": list(os.getloadavg()),
                      "load_during": load.summary()},
              "machine": machine, "quality": runs}
    path = write_result(args.out, result, prefix="quality-")
    for name, record in runs.items():
        shown = record.get("error") or (f"SWD {record['swd']} / floor {record['swd_floor']} = "
                                        f"{record['swd_ratio']}x, {record['steps']} steps")
        print(f"{name}: {shown}")
    print(f"written {path}; `python -m bench.quality --report` regenerates BENCHMARKS.md's quality section")
    return 1 if any("error" in r for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
