"""A small .tar.gz declaring a huge PAX or GNU long-name header gets 413 from the API, with its memory flat."""

from __future__ import annotations

import tarfile
import tracemalloc
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from core.models import Dataset
from core.settings import Settings
from tests.support.http import count_rows, expect_error, upload
from tests.support.images import image_bytes
from tests.support.tar_headers import LONG_NAME, huge_header_tar, member, write_tar

MiB = 1024 * 1024


def _peak_of_upload(client: FlaskClient, data: bytes, filename: str) -> tuple[TestResponse, int]:
    """The response to uploading `data`, and the most memory Python allocated while the API handled it."""
    tracemalloc.start()
    try:
        response = upload(client, data, filename)
        return response, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_extended_tar_headers_are_413_with_flat_memory(client: FlaskClient, settings: Settings, tmp_path: Path,
                                                            sessions: sessionmaker[Session],
                                                            subtests: pytest.Subtests) -> None:
    normal = write_tar(tmp_path / "normal.tar.gz", [member("cat.png", image_bytes())]).read_bytes()
    response, baseline = _peak_of_upload(client, normal, "normal.tar.gz")
    assert response.status_code == 201, response.get_json()
    for kind in ("pax", "gnu"):
        with subtests.test(kind=kind):
            data = huge_header_tar(tmp_path / f"{kind}.tar.gz", kind, 48 * MiB).read_bytes()
            assert len(data) < 250_000
            response, peak = _peak_of_upload(client, data, f"{kind}.tar.gz")
            error = expect_error(response, 413, "archive_header_too_large")
            assert f"exceed {settings.max_archive_header_bytes} bytes" in error["message"]
            assert error["fields"] == {"file": ["Extended tar header too large."]}
            assert peak < baseline + 4 * MiB, (peak, baseline)
    assert count_rows(sessions, Dataset) == 1
    assert settings.dataset_dir is not None
    assert list((settings.dataset_dir / ".staging").iterdir()) == []


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_a_long_but_legal_name_still_imports(client: FlaskClient, settings: Settings, tmp_path: Path,
                                             fmt: int) -> None:
    data = write_tar(tmp_path / "long.tar.gz", [member(LONG_NAME, image_bytes(), fmt)]).read_bytes()
    response = upload(client, data, "long.tar.gz")
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["image_count"], response.get_json()["skipped_count"]) == (1, 0)
    assert settings.dataset_dir is not None
    [image] = [p for p in settings.dataset_dir.rglob("*.png") if ".staging" not in p.parts]
    assert str(image).endswith(LONG_NAME) and image.read_bytes() == image_bytes()
