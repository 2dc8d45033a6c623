"""`catgan tensorboard JOB`: a train job's TensorBoard event files, downloaded and opened in TensorBoard."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from catgan.commands.common import EXIT_API, EXIT_USAGE, ClientCommand, Config, client_options, emit, fail

JOB = click.argument("job_id", metavar="JOB", type=click.IntRange(min=1))


def fetch_event_files(config: Config, job_id: int, logdir: Path) -> list[Path]:
    """Download the job's `tensorboard` artifacts into `logdir/job-<id>/` (TensorBoard names a run by its folder)."""
    run = logdir / f"job-{job_id}"
    run.mkdir(parents=True, exist_ok=True)
    saved = []
    for artifact in config.client.iter_artifacts(job_id, kind="tensorboard"):
        name = Path((artifact.get("info") or {}).get("file") or artifact["name"]).name  # never a path from the server
        saved.append(config.client.download(artifact["id"], run / name))
    return saved


@click.command(cls=ClientCommand)
@JOB
@click.option("--logdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to keep the event files (default: a new temporary folder).")
@click.option("--port", default=6006, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-launch", is_flag=True, help="Only download the event files and print their folder.")
@client_options
def tensorboard(job_id: int, logdir: Path | None, port: int, no_launch: bool, config: Config) -> None:
    """Open train job JOB's TensorBoard event files (losses, sample sheets) in TensorBoard on 127.0.0.1."""
    logdir = logdir or Path(tempfile.mkdtemp(prefix=f"catgan-tensorboard-{job_id}-"))
    files = fetch_event_files(config, job_id, logdir)
    if not files:
        fail("no_event_files", f"job {job_id} has no TensorBoard event files (a train run writes them when it "
                               "ends, is cancelled or hands over)", EXIT_API)
    emit(config, {"job": job_id, "logdir": str(logdir), "files": [str(f) for f in files]},
         f"{len(files)} event file(s) of job {job_id} in {logdir}")
    if no_launch or config.json:
        return
    executable = shutil.which("tensorboard")
    if executable is None:
        fail("tensorboard_missing", f"the tensorboard command is not installed here; `pip install tensorboard`, or "
                                    f"run it yourself on {logdir}", EXIT_USAGE)
    click.echo(f"TensorBoard on http://127.0.0.1:{port}/ (Ctrl-C stops it)")
    subprocess.run([executable, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)], check=False)
