"""Client commands for datasets and models: `catgan datasets add|list`, `catgan models`, `catgan label`."""

from __future__ import annotations

from pathlib import Path

import click

from catgan.commands.common import ClientCommand, ClientGroup, Config, client_options, emit, fail, table, EXIT_USAGE

FACE_SIZES = ["32", "64", "128"]  # the API's face_size choices (core.faces.FACE_SIZES; the client needs no OpenCV)


@click.group(cls=ClientGroup)
def datasets() -> None:
    """Image datasets: upload a folder or an archive, list them."""


@datasets.command("add")
@click.argument("source")
@click.option("--name", default=None, help="The dataset's name (default: the folder's or archive's name).")
@click.option("--server-path", is_flag=True,
              help="SOURCE is a folder on the server's disk: register it in place (admin keys only).")
@click.option("--faces", type=click.Choice(["cat"]), default=None,
              help="The dataset is the cat faces found in the photos (cropped square), not the photos.")
@click.option("--face-size", type=click.Choice(FACE_SIZES), default=None,
              help="Side of every face crop in px (the service's default: 64); only with --faces.")
@client_options
def datasets_add(source: str, name: str | None, server_path: bool, faces: str | None, face_size: str | None,
                 config: Config) -> None:
    """Add SOURCE (a folder, zipped on the fly, or a zip/tar archive) as a dataset."""
    if face_size is not None and faces is None:
        fail("usage", "--face-size needs --faces cat", EXIT_USAGE)
    client, options = config.client, {"faces": faces, "face_size": None if face_size is None else int(face_size)}
    if server_path:
        dataset = client.register_folder(name or Path(source).name or "images", source, **options)
    else:
        path = Path(source)
        if not path.exists():
            fail("usage", f"{source} does not exist (give a folder of images or a zip/tar archive)", EXIT_USAGE)
        upload = client.upload_folder if path.is_dir() else client.upload_dataset
        dataset = upload(path, name, **options)
    emit(config, dataset, f"dataset {dataset['id']} {dataset['name']!r}: {dataset['image_count']} images"
                          f" ({dataset.get('skipped_count', 0)} files skipped, {dataset.get('held_out_count', 0)} held"
                          f" out){_faces_note(dataset.get('faces'))}")


def _faces_note(found: dict | None) -> str:
    """How a face dataset's photos went, for the one-line summary ('' for other datasets)."""
    if not found:
        return ""
    return (f"; {found['faces']} faces from {found['face_photos']} of {found['photos']} photos"
            f" ({found['faceless_photos']} without a face, {found.get('unreadable', 0)} unreadable)")


@datasets.command("list")
@client_options
def datasets_list(config: Config) -> None:
    """Every dataset you may use, newest first."""
    items = config.client.datasets()
    emit(config, items, lambda: table(
        [(d["id"], d["name"], d.get("source"), d.get("image_count"), d.get("skipped_count"), d.get("created_at"))
         for d in items], ["id", "name", "source", "images", "skipped", "created"]))


@click.command(cls=ClientCommand)
@client_options
def models(config: Config) -> None:
    """Every model name with its versions, served versions and labels."""
    items = config.client.models()
    emit(config, items, lambda: table(
        [(m["name"], m.get("latest_version"), ",".join(map(str, m.get("served_versions") or [])) or "-",
          " ".join(f"{k}={v}" for k, v in sorted((m.get("labels") or {}).items())) or "-") for m in items],
        ["name", "latest", "served", "labels"]))


@click.command(cls=ClientCommand)
@click.argument("name")
@click.argument("label")
@click.argument("version", type=click.IntRange(min=1), required=False)
@click.option("--remove", is_flag=True, help="Remove LABEL instead of pointing it at VERSION.")
@client_options
def label(name: str, label: str, version: int | None, remove: bool, config: Config) -> None:
    """Point LABEL (e.g. stable, canary) of model NAME at VERSION, or --remove it."""
    if remove == (version is not None):
        fail("usage", "give VERSION to set the label, or --remove without one", EXIT_USAGE)
    if remove:
        model = config.client.remove_label(name, label)
    else:
        assert version is not None
        model = config.client.set_label(name, label, version)
    emit(config, model, f"{name}: labels " + (" ".join(f"{k}={v}" for k, v in sorted(model["labels"].items()))
                                             or "none"))
