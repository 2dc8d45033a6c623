"""Figure 5, the queue and the API: submit -> running of a job with an idle worker, and GET /v1/jobs/{id} (and
the first page of GET /v1/jobs) under load on loopback, the API under gunicorn vs a bare Flask + SQLAlchemy app
served the same way, with few and many jobs in the database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.deploy import Http, free_port, gunicorn_args, started, wait_listening
from bench.figures import Context, stamp
from bench.harness import Figure, interleave, percentile
from bench.load import load

P99_BUDGET_MS = 10.0
QUICK = {"profile": "cpu", "image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8,
         "z_dim": 16, "max_steps": 1, "seed": 0}  # a job that is over soon after it starts


def run(ctx: Context) -> Figure:
    """Queue latency first (the worker idle), then the load rounds at each database size."""
    figure = Figure("api", f"The queue and the API: gunicorn (catgan.gunicorn_conf), {ctx.sizes.clients} clients "
                           "on loopback, SQLite + embedded Redis")
    queue_latency(ctx, figure)
    bare_port, log = free_port(), Path(ctx.deploy.home) / "bare-api.log"
    with started(gunicorn_args("bench.bare_app:app", bare_port, catgan_conf=False), ctx.deploy.env, log) as bare:
        wait_listening(bare_port, bare, log)
        for rows in ctx.sizes.job_rows:
            target = fill_jobs(ctx, rows)
            under_load(ctx, figure, rows, target, bare_port)
    first, last = ctx.sizes.job_rows[0], ctx.sizes.job_rows[-1]
    for kind in ("read", "list"):
        figure.ratio(f"{kind}_growth", f"API {kind} requests/s with {last:,} jobs / with {first:,}",
                     [a / b for a, b in zip(figure.values[f"{kind}_api_{last}"]["samples"],
                                            figure.values[f"{kind}_api_{first}"]["samples"], strict=True)], goal=0.9)
    return figure


def queue_latency(ctx: Context, figure: Figure) -> None:
    """Submit quick train jobs one at a time to the idle worker: the record's created -> started seconds."""
    client = ctx.deploy.client()
    recorded, observed = [], []
    for _ in range(ctx.rounds * ctx.sizes.latency_jobs):
        began = time.perf_counter()
        job_id = client.ok("POST", "/v1/jobs", {"type": "train", "model": "dcgan", "dataset": ctx.dataset,
                                                "params": QUICK})["id"]
        client.wait_job(job_id, until={"running", "succeeded", "failed", "cancelled"}, poll=0.02)
        observed.append(time.perf_counter() - began)
        job = client.wait_job(job_id, poll=0.5)
        recorded.append(stamp(job["started_at"]) - stamp(job["created_at"]))
    figure.value("submit_running", "submit -> running (job record: created_at -> started_at)", recorded, "s")
    figure.value("submit_running_p99", "submit -> running, p99", [percentile(recorded, 99)], "s")
    figure.value("submit_running_client", "submit -> running as a client polling every 20 ms sees it", observed, "s")
    figure.notes.append("submit -> running includes the task process importing TensorFlow before it claims the job")


def fill_jobs(ctx: Context, total: int) -> int:
    """Insert finished train jobs of the bench's owner until the table holds `total`; a job id in the middle."""
    from sqlalchemy import func, insert, select

    from core.db import make_engine
    from core.models import Job

    engine = make_engine(ctx.deploy.settings())
    try:
        with engine.begin() as conn:
            have = conn.scalar(select(func.count()).select_from(Job.__table__)) or 0
            row = {"type": "train", "status": "succeeded", "model": "dcgan", "owner": "bench", "attempts": 1,
                   "params": {"image_size": 64, "max_steps": 60}, "metrics": {"g_loss": 1.0, "d_loss": 1.0},
                   "progress": {"step": 60, "total_steps": 60, "epoch": 2}, "warnings": []}
            for start in range(have, total, 5000):
                conn.execute(insert(Job.__table__), [row] * (min(total, start + 5000) - start))
            return int(conn.scalar(select(func.min(Job.id))) + total // 2)
    finally:
        engine.dispose()


def under_load(ctx: Context, figure: Figure, rows: int, target: int, bare_port: int) -> None:
    """Alternate API and bare app per round, for one read and for the first page of the list."""
    sizes, port, token = ctx.sizes, ctx.deploy.port, ctx.deploy.token
    assert Http(port, token).ok("GET", f"/v1/jobs/{target}")["id"] == target
    paths = {"read": (f"/v1/jobs/{target}", f"/jobs/{target}"), "list": ("/v1/jobs?limit=50", "/jobs")}
    for kind, (api_path, bare_path) in paths.items():
        results: dict[str, list[Any]] = interleave(ctx.rounds, {
            "api": lambda p=api_path: load(port, p, sizes.clients, sizes.load_seconds, token),
            "bare": lambda p=bare_path: load(bare_port, p, sizes.clients, sizes.load_seconds)})
        api, bare = results["api"], results["bare"]
        if any(r["errors"] for r in api + bare):
            figure.notes.append(f"{kind} at {rows:,} jobs: {sum(r['errors'] for r in api + bare)} non-200 answers")
        figure.ratio(f"{kind}_{rows}", f"{kind} requests/s, API / bare Flask, {rows:,} jobs",
                     [a["rps"] / b["rps"] for a, b in zip(api, bare, strict=True)], goal=0.8)
        figure.ratio(f"{kind}_p99_{rows}", f"{kind} p99 latency, API / {P99_BUDGET_MS:g} ms, {rows:,} jobs",
                     [a["p99_ms"] / P99_BUDGET_MS for a in api], goal=1.0, higher_is_better=False)
        figure.value(f"{kind}_api_{rows}", f"API {kind}, {rows:,} jobs", [a["rps"] for a in api], "requests/s")
        figure.value(f"{kind}_bare_{rows}", f"bare {kind}, {rows:,} jobs", [b["rps"] for b in bare], "requests/s")
        figure.value(f"{kind}_api_p99_{rows}", f"API {kind} p99, {rows:,} jobs", [a["p99_ms"] for a in api], "ms")
        figure.value(f"{kind}_bare_p99_{rows}", f"bare {kind} p99, {rows:,} jobs", [b["p99_ms"] for b in bare], "ms")
