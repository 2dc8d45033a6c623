"""A whole generate job against the bare generator, tfserving against local, and peak RSS by job size.

    python bench/generate_job.py [--images 5000] [--rounds 3] [--warmup 640] [--rss-counts 10000,100000]

The narrow 64 px DCGAN (g128 d32 k4, random weights) is published as a model version in a temporary
deployment. Its RGB layer is scaled x100: the N(0, 0.02) init draws flat grey images whose PNGs
(3 KB) cost Pillow twice what a real face's do; scaled, they are ~8 KB like real 64 px cat faces.
Each round times, on the same aligned blocks of 64 latents: the bare forward pass
(`serving.local.predict`, latents computed inside the loop, as the job computes them), a
whole job through `run_generate_job` on the `local` backend (API defaults: PNG, shards, preview
grid), and one on `tfserving` (gRPC to `catgan serving`, started and warmed up before any clock
runs). Peak RSS: a 10k and a 100k job, each in a fresh process, the encoding pool's processes
sampled apart. This process never imports TensorFlow: it starts the server and the children that
do, so nothing forks after TensorFlow loads. The machine may be shared: each figure carries the
cores other processes kept busy while it was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from core.settings import Settings  # noqa: E402  (no TensorFlow behind it)

NAME, SEED, BLOCK, Z_DIM, RGB_GAIN = "bench", 7, 64, 100, 100.0
RESULT = "RESULT "  # prefix of the JSON line a child prints
KINDS = ("bare", "local", "tfserving")


# --- children: TensorFlow loads here ----------------------------------------------------------------

def publish(settings: Settings) -> None:
    """Export the narrow generator as version 1 of NAME and record it, as a train job would."""
    import keras

    from core import db, serving_config
    from core.services import models
    from gans import export
    from gans.configs.dcgan import DCGANConfig
    from gans.nets import dcgan
    from serving.repository import ModelRepository

    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator(DCGANConfig(image_size=64, g_filters=128, d_filters=32,
                                                  kernel_size=4, z_dim=Z_DIM))
    kernel, bias = generator.get_layer("to_rgb").get_weights()
    generator.get_layer("to_rgb").set_weights([kernel * RGB_GAIN, bias])
    repository = ModelRepository(settings.model_repository)  # type: ignore[arg-type]
    target = repository.publish(NAME, 1, lambda d: export.export_generator(generator, d, Z_DIM))
    engine = db.make_engine(settings)
    with serving_config.models_config_lock(settings), db.session_scope(db.make_session_factory(engine)) as session:
        models.create_model_version(session=session, name=NAME, version=1, model="dcgan", job_id=None,
                                    path=str(target.relative_to(repository.root)), info={"step": 0}, owner=NAME,
                                    record=export.read_metadata(target))  # the export's record: kind, signature
        serving_config.write_models_config(session, settings)
    engine.dispose()


def worker_context(settings: Settings) -> Any:
    """What a worker process builds: settings, sessions, the repository, a Celery app (never sends here)."""
    from core import db, queue
    from serving.repository import ModelRepository
    from worker.context import WorkerContext

    return WorkerContext(settings, db.make_session_factory(db.make_engine(settings)),
                         ModelRepository(settings.model_repository), queue.make_celery(settings))  # type: ignore[arg-type]


def run_job(ctx: Any, count: int, shard_size: int) -> tuple[int, float]:
    """Create a generate job as the API does and run it in-process; (job id, wall seconds)."""
    from core.db import session_scope
    from core.services import jobs, submissions
    from worker.pipelines.generate import run_generate_job

    with session_scope(ctx.sessions) as session:
        source = submissions.SourceRef(model_name=NAME, version=1)
        job_id = submissions.create_generate_job(
            session=session, owner=NAME, source_ref=source, seed=SEED, count=count,
            max_count=ctx.settings.max_generate_count, options={"shard_size": shard_size}).id
    start = time.perf_counter()
    run_generate_job(ctx, job_id)
    seconds = time.perf_counter() - start
    with session_scope(ctx.sessions) as session:
        job = jobs.get_job(session=session, job_id=job_id)
        assert job.status == "succeeded", job.error
    return job_id, seconds


def take_shards(settings: Settings, job_id: int) -> tuple[list[str], float]:
    """The sha256 of each shard and the mean PNG size in bytes; then delete the job's files."""
    import hashlib
    import zipfile

    from core.services.artifacts import job_artifact_dir

    folder = job_artifact_dir(settings, job_id)
    shards = sorted(folder.glob("images-*.zip"))
    with zipfile.ZipFile(shards[0]) as archive:
        sizes = [i.file_size for i in archive.infolist() if i.filename.endswith(".png")]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in shards]
    shutil.rmtree(folder)
    return digests, sum(sizes) / len(sizes)


def bare(export_dir: str, count: int) -> tuple[float, float]:
    """Wall and process CPU seconds of the forward pass over `count` images' blocks, latents included."""
    from serving.latents import latent_batch
    from gans.config import latent_signature
    from serving.local import predict

    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, count, BLOCK):
        predict(export_dir, latent_signature(Z_DIM, 64, 3), {"z": latent_batch(SEED, start, BLOCK, Z_DIM)})
    return time.perf_counter() - wall, time.process_time() - cpu


def encode_cpu(export_dir: str, times: int = 8) -> float:
    """CPU seconds to PNG-encode one block in one process, as a pool process does."""
    from serving.latents import latent_batch
    from gans.config import latent_signature
    from serving.local import predict
    from worker.encoding import ImageFormat, encode_batch

    block = predict(export_dir, latent_signature(Z_DIM, 64, 3), {"z": latent_batch(SEED, 0, BLOCK, Z_DIM)})
    encode_batch(block, ImageFormat(), False)
    start = time.process_time()
    for _ in range(times):
        encode_batch(block, ImageFormat(), False)
    return (time.process_time() - start) / times


def timing(args: argparse.Namespace) -> dict[str, Any]:
    """Warm everything up, then alternate bare / job-local / job-tfserving for `args.rounds` rounds."""
    base = Settings()
    contexts = {"local": worker_context(base),
                "tfserving": worker_context(base.model_copy(update={"generator_backend": "tfserving"}))}
    export_dir, blocks = str(base.model_repository / NAME / "1"), -(-args.images // BLOCK)  # type: ignore[operator]
    bare(export_dir, 3 * BLOCK)
    for ctx in contexts.values():  # loads the SavedModel / waits until AVAILABLE, traces, starts the forkserver
        take_shards(ctx.settings, run_job(ctx, args.warmup, args.shard_size)[0])
    rounds = []
    for _ in range(args.rounds):
        start = cpu_split()
        wall, cpu = bare(export_dir, args.images)
        row: dict[str, Any] = {"bare": args.images / wall, "bare_others": others(start, wall),
                               "forward_ms": wall / blocks * 1e3, "forward_cpu_ms": cpu / blocks * 1e3}
        digests = {}
        for name, ctx in contexts.items():
            start = cpu_split()
            job_id, seconds = run_job(ctx, args.images, args.shard_size)
            row[name], row[f"{name}_others"] = args.images / seconds, others(start, seconds)
            digests[name], row["png_bytes"] = take_shards(ctx.settings, job_id)
        rounds.append(row | {"same_bytes": digests["local"] == digests["tfserving"]})
    return {"rounds": rounds, "encode_cpu_ms": encode_cpu(export_dir) * 1e3}


def peak_kb(pid: int | str) -> int:
    """The peak RSS (VmHWM) of a process in kB; 0 once it is gone."""
    try:
        return int(Path(f"/proc/{pid}/status").read_text().split("VmHWM:")[1].split()[0])
    except (OSError, IndexError):
        return 0


def processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks of the process and of its children it has reaped)."""
    table: dict[int, tuple[int, int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:  # "pid (comm) state ppid ... utime stime cutime cstime ..."
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            table[int(pid)] = (int(fields[1]), sum(map(int, fields[11:15])))
        except (OSError, IndexError):
            continue
    return table


def pool_pids() -> list[int]:
    """This process's grandchildren: the encoding pool, forked by the forkserver (a child)."""
    table = processes()
    return [pid for pid, (parent, _) in table.items() if table.get(parent, (0, 0))[0] == os.getpid()]


def cpu_split() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine, and by this bench (the parent's process tree)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    table, tree, frontier = processes(), [os.getppid()], [os.getppid()]
    while frontier:
        frontier = [pid for pid, (parent, _) in table.items() if parent in frontier]
        tree += frontier
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(table[p][1] for p in tree if p in table) / tick


def others(start: tuple[float, float], seconds: float) -> float:
    """Cores other processes on the machine kept busy since `start` (steal included)."""
    end = cpu_split()
    return max((end[0] - start[0]) - (end[1] - start[1]), 0.0) / seconds


def rss_job(count: int, shard_size: int) -> dict[str, Any]:
    """One job in this fresh process: wall time, this process's peak RSS, and each pool process's peak."""
    from core.services.artifacts import job_artifact_dir

    ctx, done, peaks = worker_context(Settings()), threading.Event(), dict[int, int]()

    def sample() -> None:
        while not done.wait(0.5):
            peaks.update({pid: max(peaks.get(pid, 0), peak_kb(pid)) for pid in pool_pids()})

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = cpu_split()
    job_id, seconds = run_job(ctx, count, shard_size)
    busy = others(start, seconds)
    done.set()
    sampler.join()
    shutil.rmtree(job_artifact_dir(ctx.settings, job_id))
    return {"count": count, "seconds": seconds, "others": busy, "peak_mb": peak_kb("self") / 1024,
            "pool_mb": max(peaks.values(), default=0) / 1024, "pool_processes": len(peaks)}


# --- this process: no TensorFlow --------------------------------------------------------------------

def child(args: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run this script with `args` in a fresh process and return the JSON it prints."""
    with log.open("ab") as err:
        done = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=err, check=False)
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith(RESULT)]
    if done.returncode or not lines:
        sys.exit(f"{args} failed ({done.returncode}):\n{log.read_text(errors='replace')[-4000:]}")
    return json.loads(lines[-1].removeprefix(RESULT))


def timing_table(result: dict[str, Any]) -> str:
    """Per-round images/s and ratios, their medians, and what a block costs the CPUs."""
    rounds = result["rounds"]
    ratios = [(r["local"] / r["bare"], r["tfserving"] / r["bare"], r["tfserving"] / r["local"]) for r in rounds]
    lines = ["| round | bare forward | job, local | job, tfserving | local / bare | tfserving / bare "
             "| tfserving / local | same shard bytes |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {i} | " + " | ".join(f"{r[k]:,.0f} img/s ({r[k + '_others']:.1f})" for k in KINDS)
              + f" | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | {'yes' if r['same_bytes'] else '**NO**'} |"
              for i, (r, q) in enumerate(zip(rounds, ratios, strict=True), 1)]
    medians = " | ".join(f"**{statistics.median(column):.2f}**" for column in zip(*ratios, strict=True))
    lines.append(f"| median | | | | {medians} | |")
    wall, cpu = (statistics.median(r[k] for r in rounds) for k in ("forward_ms", "forward_cpu_ms"))
    encode = result["encode_cpu_ms"]
    lines.append(f"\nper block of 64 (medians): forward pass {wall:.1f} ms wall, {cpu:.1f} ms CPU "
                 f"({cpu / wall:.1f} cores); PNG encoding {encode:.1f} ms CPU "
                 f"({rounds[-1]['png_bytes'] / 1024:.1f} KB/image): encoding is {encode / (encode + cpu):.0%} "
                 f"of the CPU work, so a job given the CPU the bare pass got reaches ~{cpu / (encode + cpu):.2f} of it")
    return "\n".join(lines)


def rss_table(runs: list[dict[str, Any]]) -> str:
    """Peak RSS per job size, and the largest job's over the smallest's."""
    lines = ["| job, local backend, fresh process | wall (model load included) | images/s "
             "| job process peak RSS (VmHWM) | encoder process peak RSS |", "|---|---|---|---|---|"]
    lines += [f"| {r['count']:,} images | {r['seconds']:.0f} s ({r['others']:.1f}) | {r['count'] / r['seconds']:,.0f} "
              f"| {r['peak_mb']:,.0f} MB | {r['pool_mb']:,.0f} MB (largest of {r['pool_processes']}) |" for r in runs]
    lines.append(f"\npeak RSS, {runs[-1]['count']:,} vs {runs[0]['count']:,} images: "
                 f"{runs[-1]['peak_mb'] / runs[0]['peak_mb']:.3f}x")
    return "\n".join(lines)


def orchestrate(args: argparse.Namespace) -> None:
    """Make the deployment, publish, start the server, run the children, print the tables."""
    from core.migrate import upgrade_database

    load_before = Path("/proc/loadavg").read_text().strip()
    home = Path(tempfile.mkdtemp(prefix="catgan-bench-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    env = dict(os.environ) | {"CATGAN_HOME": str(home), "CATGAN_DATABASE_URL": f"sqlite:///{home / 'catgan.db'}",
                              "CATGAN_REDIS_URL": "redis://127.0.0.1:6379/15", "CATGAN_SERVING_ADDRESS": address,
                              "CATGAN_MODEL_REPOSITORY": str(home / "models"), "CATGAN_LOG_LEVEL": "WARNING",
                              "TF_CPP_MIN_LOG_LEVEL": "2"}
    log, shards, server = home / "bench.log", ["--shard-size", str(args.shard_size)], None
    try:
        upgrade_database(Settings(home=home, database_url=env["CATGAN_DATABASE_URL"]))
        child(["--child", "publish"], env, log)
        with (home / "serving.log").open("wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "catgan.cli", "serving", "--address", address],
                                      env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        result = child(["--child", "timing", "--images", str(args.images), "--rounds", str(args.rounds),
                        "--warmup", str(args.warmup), *shards], env, log)
        server.terminate()
        server.wait(30)
        runs = [child(["--child", "rss", "--rss-job", str(n), *shards], env, log) for n in args.rss_counts]
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average before: {load_before}\n\nnarrow DCGAN 64 px, {args.images:,} images per measurement, "
          f"{args.rounds} rounds, model blocks of {BLOCK}, PNG, shards of {args.shard_size:,}, {os.cpu_count()} "
          f"encode workers; (x.x): cores other processes kept busy meanwhile\n\n{timing_table(result)}\n\n"
          f"{rss_table(runs)}\n\n"
          f"load average after: {Path('/proc/loadavg').read_text().strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000, help="images per timed measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=640, help="images of one untimed job per backend")
    parser.add_argument("--shard-size", type=int, default=10_000)
    parser.add_argument("--rss-counts", type=lambda s: [int(n) for n in s.split(",")], default=[10_000, 100_000])
    parser.add_argument("--child", choices=["publish", "timing", "rss"], help=argparse.SUPPRESS)
    parser.add_argument("--rss-job", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is None:
        return orchestrate(args)
    result = {"publish": lambda: publish(Settings()), "timing": lambda: timing(args),
              "rss": lambda: rss_job(args.rss_job, args.shard_size)}[args.child]()
    print(RESULT + json.dumps(result or {}))


if __name__ == "__main__":
    main()
