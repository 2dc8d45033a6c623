"""The model repository in TF Serving's layout: `<root>/<name>/<version>/` plus `models.config`.

A version is exported into a staging folder and renamed into place, so a server scanning the
repository never sees half a model.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from core.storage import write_atomic

STAGING = ".staging"
CONFIG_NAME = "models.config"


class ModelRepository:
    """Publishes SavedModels and keeps `models.config` in step with what is on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def version_dir(self, name: str, version: int) -> Path:
        return self.root / name / str(version)

    def versions(self, name: str) -> list[int]:
        """Published versions of `name`, ascending."""
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())

    def names(self) -> list[str]:
        """Model names with at least one published version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name != STAGING and self.versions(p.name))

    def publish(self, name: str, version: int, export: Callable[[Path], None]) -> Path:
        """Run `export(staging_dir)`, then move the result to `<name>/<version>/` in one rename."""
        staging = self.root / STAGING / uuid.uuid4().hex
        staging.parent.mkdir(parents=True, exist_ok=True)
        target = self.version_dir(name, version)
        try:
            export(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging, target)  # atomic on one filesystem; fails if the version exists
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.write_config()
        return target

    def write_config(self) -> None:
        """Write TF Serving's `models.config` listing every model and serving all its versions."""
        write_atomic(self.root / CONFIG_NAME, render_models_config(self.root, self.names()).encode())


def render_models_config(root: Path, names: list[str]) -> str:
    """A `model_config_list` in protobuf text format."""
    entries = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{root / name}"\n    model_platform: "tensorflow"\n'
        f"    model_version_policy {{ all {{}} }}\n  }}\n"
        for name in names
    )
    return f"model_config_list {{\n{entries}}}\n"
