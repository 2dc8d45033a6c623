"""Shared fixtures: settings on a fresh HOME, real Redis (embedded or server), SQLite or PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gans import registry
from tests.support.images import write_images

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _models_registered_by_a_test_are_forgotten() -> Iterator[None]:
    """An app built with CATGAN_EXTRA_MODELS registers them process-wide; the next test starts without them."""
    before = set(registry.model_names())
    yield
    for name in set(registry.model_names()) - before:
        registry.unregister(name)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory (unix socket paths must stay under ~100 characters)."""
    path = Path(tempfile.mkdtemp(prefix="cg-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """40 small RGB images made on the spot."""
    folder = tmp_path / "images"
    write_images(folder, count=40, size=40)
    return folder


@pytest.fixture(scope="session")
def cat_faces() -> Path:
    """The real cat faces of ../shared/data (skips when absent)."""
    folder = SHARED_DATA / "cat-faces-64"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not present")
    return folder


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
