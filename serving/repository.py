"""The model repository in TF Serving's layout: `<root>/<name>/<version>/`.

A version is exported into a staging folder and renamed into place, so a server scanning the
repository never sees half a model. `models.config` beside them is rendered from the database
(`core.serving_config`), which owns pins and labels. Every path built from a model name is checked
against the model-name rule (`core.names`) and to stay inside the root (`core.storage.resolve_inside`).
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from core.names import check_model_name, is_model_name
from core.storage import resolve_inside

STAGING = ".staging"
PLACE_ATTEMPTS = 100  # version numbers tried past the first free-looking one before giving up
_TAKEN = {errno.EEXIST, errno.ENOTEMPTY}


class ModelRepository:
    """Publishes SavedModels atomically and lists what is on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def version_dir(self, name: str, version: int) -> Path:
        """`<root>/<name>/<version>`, for a valid name and a positive version only."""
        return self._inside(name, str(_positive(version)))

    def relative_path(self, name: str, version: int) -> str:
        """The version folder relative to the root, as recorded on the model version."""
        return f"{check_model_name(name)}/{_positive(version)}"

    def versions(self, name: str) -> list[int]:
        """Published versions of `name`, ascending."""
        folder = self._inside(name)
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())

    def names(self) -> list[str]:
        """Model names with at least one published version (folders whose names break the rule are not models)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and is_model_name(p.name) and self.versions(p.name))

    def stage(self, export: Callable[[Path], None]) -> Path:
        """Run `export(staging_dir)` into a new staging folder; nothing stays behind if it fails."""
        staging = self.root / STAGING / uuid.uuid4().hex
        staging.parent.mkdir(parents=True, exist_ok=True)
        try:
            export(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging

    def place(self, staging: Path, name: str, first: int) -> int:
        """Rename `staging` to the first free version of `name` from max(`first`, newest on disk + 1); its number.

        A version folder left without a database row (a publish that died) or one another writer just
        renamed into place is skipped, not fatal.
        """
        version = max(first, max(self.versions(name), default=0) + 1)
        for _ in range(PLACE_ATTEMPTS):
            target = self.version_dir(name, version)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, target)  # atomic on one filesystem; fails if the version holds files
                return version
            except OSError as exc:
                if exc.errno not in _TAKEN:
                    raise
                version += 1
        raise FileExistsError(f"no free version of {name!r} among {PLACE_ATTEMPTS} past {first}")

    def unplace(self, name: str, version: int, staging: Path) -> None:
        """Undo `place`: move the version back to `staging` (so it can be placed again), else delete it."""
        target = self.version_dir(name, version)
        try:
            os.rename(target, staging)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)

    def discard(self, staging: Path) -> None:
        """Delete a staging folder (after it was placed, nothing is left to delete)."""
        shutil.rmtree(resolve_inside(self.root / STAGING, staging.name), ignore_errors=True)

    def publish(self, name: str, version: int, export: Callable[[Path], None]) -> Path:
        """Run `export(staging_dir)`, then move the result to `<name>/<version>/` in one rename (exactly that one)."""
        target = self.version_dir(name, version)
        staging = self.stage(export)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging, target)  # atomic on one filesystem; fails if the version exists
        finally:
            self.discard(staging)
        return target

    def _inside(self, name: str, *parts: str) -> Path:
        """`<root>/<name>/...` for a name that satisfies the rule, refused if it would leave the root."""
        relative = Path(check_model_name(name), *parts)
        resolve_inside(self.root, relative)  # the uploads' check: raises ValueError for a path outside the root
        return self.root / relative


def _positive(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"a model version is a positive integer, not {version!r}")
    return version
