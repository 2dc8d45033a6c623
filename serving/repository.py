"""The model repository in TF Serving's layout: `<root>/<name>/<version>/`.

A version is exported into a staging folder and renamed into place, so a server scanning the
repository never sees half a model. `models.config` beside them is rendered from the database
(`core.serving_config`), which owns pins and labels.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

STAGING = ".staging"


class ModelRepository:
    """Publishes SavedModels atomically and lists what is on disk."""

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
        return target
