"""The main job: up, register a folder, train a short DCGAN with a live progress bar, generate, save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from catgan.client import CatganClient
from catgan.localkey import read_local_token
from catgan.stack import LocalStack
from core.settings import Settings

# The dcgan "cpu" profile (4x4 kernels, G ending on 32 channels, DiffAugment, an EMA generator; MODELS.md)
# trains several times more images/s on a CPU than the classic 1024-channel 5x5 net. `max_minutes` plans
# the steps to fit the budget and decays the learning rates by its end. At 32 px a 2-core CPU makes ~1,000
# steps in 5 minutes, enough for furry cat-like faces; 64 px needs about four times longer for the same.
QUICKSTART_PARAMS: dict[str, Any] = {
    "profile": "cpu", "image_size": 32, "batch_size": 64, "checkpoint_every_epochs": 5, "sample_every_steps": 100,
    "seed": 1,
}


def quickstart_params(minutes: float, image_size: int = 32) -> dict[str, Any]:
    """The quickstart recipe at `image_size`, planned to train for `minutes`."""
    return QUICKSTART_PARAMS | {"max_minutes": minutes, "image_size": image_size}


def run_quickstart(settings: Settings, *, images: Path, minutes: float, count: int, out: Path, port: int,
                   image_size: int = 32) -> None:
    """Run the whole path once and say where the results are."""
    out.mkdir(parents=True, exist_ok=True)
    with LocalStack(settings, port=port) as stack:
        client = CatganClient(stack.url, token=read_local_token(settings))
        dataset = client.register_folder(images.name or "images", images.resolve())
        click.echo(f"dataset {dataset['id']}: {dataset['image_count']} images from {images}")
        job = client.train(dataset["id"], params=quickstart_params(minutes, image_size), model_name="quickstart-cats")
        click.echo(f"training job {job['id']} (~{minutes:g} min on this machine)...")
        trained = _follow(client, job["id"], "training")
        if trained["status"] != "succeeded":
            raise click.ClickException(f"training {trained['status']}: {trained.get('error')}")
        generation = client.generate(trained["model_version"], count, seed=0)
        done = _follow(client, generation["id"], "generating")
        if done["status"] != "succeeded":
            raise click.ClickException(f"generation {done['status']}: {done.get('error')}")
        paths = _save(client, done, out)
    click.echo(f"{count} cats in {paths[0]}, a contact sheet in {paths[1]}; "
               f"the model, samples and checkpoints are under {settings.home}")


def _follow(client: CatganClient, job_id: int, what: str) -> dict[str, Any]:
    """Poll a job with a progress bar until it ends."""
    with tqdm(total=1.0, bar_format="{percentage:3.0f}%|{bar}| {desc}") as bar:
        def update(job: dict[str, Any]) -> None:
            progress = job["progress"] or {}
            bar.n = min(1.0, progress.get("fraction") or 0.0)
            bar.set_description_str(f"{what}: {_describe(progress)}", refresh=True)
        return client.wait(job_id, poll=1.0, on_update=update)


def _describe(progress: dict[str, Any]) -> str:
    parts = [f"step {progress['step']}/{progress['total_steps']}" if progress.get("total_steps") else ""]
    if progress.get("g_loss") is not None:
        parts.append(f"g {progress['g_loss']:.3f} d {progress['d_loss']:.3f}")
    if progress.get("images_per_second"):
        parts.append(f"{progress['images_per_second']:.0f} img/s")
    if progress.get("eta_seconds") is not None:
        parts.append(f"eta {progress['eta_seconds']:.0f}s")
    return ", ".join(p for p in parts if p)


def _save(client: CatganClient, job: dict[str, Any], out: Path) -> tuple[Path, Path]:
    by_kind = {a["kind"]: a for a in job["artifacts"]}
    zip_path = client.download_result(job["id"], out / "cats.zip")
    grid_path = client.download(by_kind["preview_grid"]["id"], out / "cats-grid.png")
    return zip_path.resolve(), grid_path.resolve()
