"""Face datasets over the real API: photos in, cat faces out, with the finder's counts and a contact sheet."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from core.models import Dataset
from core.settings import Settings
from tests.conftest import SHARED_DATA
from tests.support.auth import authorize, make_token
from tests.support.http import count_rows, expect_error, upload
from tests.support.images import zip_of

PHOTOS = SHARED_DATA / "cat-photos"


def _photos(count: int, step: int) -> list[Path]:
    if not PHOTOS.is_dir():
        pytest.skip(f"{PHOTOS} is not present")
    return sorted(PHOTOS.iterdir())[7::step][:count]


def _noise(seed: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _dataset_files(settings: Settings) -> list[Path]:
    """The files of the one dataset folder under the dataset dir."""
    assert settings.dataset_dir is not None
    folders = [p for p in settings.dataset_dir.iterdir() if p.name != ".staging"]
    assert len(folders) == 1, folders
    return sorted(folders[0].iterdir())


def test_an_upload_of_photos_becomes_a_face_dataset_with_counts_and_a_sheet(
        client: FlaskClient, settings: Settings) -> None:
    members = {f"photos/{p.name}": p.read_bytes() for p in _photos(20, 140)}
    members["photos/noise.png"] = _noise(1)  # no cat in it
    response = upload(client, zip_of(members), faces="cat")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    faces = body["faces"]
    assert (faces["kind"], faces["face_size"], faces["photos"], faces["unreadable"]) == ("cat", 64, 21, 0)
    assert faces["face_photos"] >= 6 and faces["faceless_photos"] >= 1, faces
    assert faces["face_photos"] + faces["faceless_photos"] == 21
    assert body["image_count"] == faces["faces"] >= faces["face_photos"]
    assert client.get(f"/v1/datasets/{body['id']}").get_json()["faces"] == faces
    crops = _dataset_files(settings)
    assert len(crops) == body["image_count"]
    assert {_png(c.read_bytes()).size for c in crops} == {(64, 64)}

    sheet = client.get(body["sheet_url"])
    assert (sheet.status_code, sheet.mimetype) == (200, "image/png")
    image = _png(sheet.data)
    rows = -(-min(body["image_count"], 64) // 8)
    assert image.size == (512, rows * 64)  # 8 crops a row, at 64 px already 512 wide
    first = np.asarray(_png(crops[0].read_bytes()).convert("RGB"))
    assert (np.asarray(image.convert("RGB"))[:64, :64] == first).all()  # the crops themselves, unsmoothed


def test_a_server_side_folder_becomes_a_face_dataset_in_one_call(
        app: Flask, sessions: sessionmaker[Session], settings: Settings, tmp_path: Path) -> None:
    admin = authorize(app.test_client(), make_token(sessions, "ops", admin=True))
    folder = tmp_path / "cat-photos"
    folder.mkdir()
    for photo in _photos(16, 180):
        shutil.copy(photo, folder / photo.name)
    before = sorted(p.name for p in folder.iterdir())
    response = admin.post("/v1/datasets", json={"name": "faces", "path": str(folder), "faces": "cat",
                                                "face_size": 32})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["source"], body["faces"]["folder"], body["faces"]["photos"]) == ("faces", str(folder), 16)
    assert body["image_count"] == body["faces"]["faces"] > 0
    assert sorted(p.name for p in folder.iterdir()) == before  # the folder is read, never written
    assert {_png(c.read_bytes()).size for c in _dataset_files(settings)} == {(32, 32)}
    sheet = _png(admin.get(f"/v1/datasets/{body['id']}/sheet").data)
    assert sheet.width == 512  # 8 x 32 px, enlarged x2
    pixels = np.asarray(sheet.convert("RGB"))
    assert (pixels[0::2, 0::2] == pixels[1::2, 1::2]).all()  # nearest: every pixel a 2x2 block


def test_bad_face_options_and_faceless_uploads_leave_nothing(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session]) -> None:
    photos = zip_of({"a.png": _noise(2), "b.png": _noise(3)})
    for form, field in (({"faces": "dog"}, "faces"), ({"faces": "cat", "face_size": "48"}, "face_size"),
                        ({"face_size": "64"}, "face_size")):
        error = expect_error(upload(client, photos, **form), 422, "validation_error")
        assert field in error["fields"], error
    error = expect_error(upload(client, photos, faces="cat"), 422, "no_faces")
    assert "no cat face was found in 2 photos" in error["message"] and error["fields"]["faces"]
    assert count_rows(sessions, Dataset) == 0
    assert settings.dataset_dir is not None
    assert [p for p in settings.dataset_dir.rglob("*") if p.is_file()] == []
    assert upload(client, photos).status_code == 201  # the same photos, kept whole
