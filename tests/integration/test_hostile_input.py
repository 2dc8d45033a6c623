"""Input that tries to break us: every hostile upload, body, path and query gets a 4xx with a code — never a 500 —
and leaves nothing behind, inside the data directory or outside it."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from api.app import create_app
from api.context import EXTENSION
from api.schemas import MAX_ID
from core.models import Dataset, Job
from core.settings import Settings
from tests.support.images import image_bytes, image_zip, png_claiming, tar_of, write_images, zip_of


def _upload(client: FlaskClient, data: bytes, filename: str = "upload.zip", **form: str) -> TestResponse:
    # Encoded here, in memory: the test client spools a body over 500 kB to a temporary file it never closes.
    boundary = "catgan-boundary-7d1f3e"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode() + value.encode()
             for key, value in form.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data)
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/v1/datasets", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _error(response: TestResponse, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    error = response.get_json()["error"]
    assert error["code"] == code, error
    return error


def _dataset_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(Dataset.id)))


def _job_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(Job.id)))


def _assert_clean(settings: Settings, root: Path) -> None:
    """No dataset folder, an empty staging area, and no `escape*` sentinel anywhere under the test's root."""
    assert settings.dataset_dir is not None
    assert [p.name for p in settings.dataset_dir.iterdir() if p.name != ".staging"] == []
    staging = settings.dataset_dir / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert list(root.rglob("escape*")) == []


@pytest.fixture
def client_with(app: Flask, client: FlaskClient, settings: Settings) -> Iterator[Callable[..., FlaskClient]]:
    """A client of another app on the same deployment, with some settings changed (same key as `client`)."""
    apps: list[Flask] = []

    def make(**changes: object) -> FlaskClient:
        other = create_app(settings.model_copy(update=changes))
        apps.append(other)
        test_client = other.test_client()
        test_client.environ_base.update(client.environ_base)
        return test_client

    yield make
    for other in apps:
        other.extensions[EXTENSION].engine.dispose()


# --- uploads ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [zip_of, tar_of], ids=["zip", "tar"])
@pytest.mark.parametrize("depth", [1, 2, 4, 6, 9])
def test_archive_paths_that_climb_out_write_nothing(client: FlaskClient, settings: Settings, short_tmp: Path,
                                                    sessions: sessionmaker[Session], build: Callable,
                                                    depth: int) -> None:
    sentinel = "../" * depth + "escape.txt"
    escaped = (settings.dataset_dir / ".staging" / "x" / "images" / sentinel).resolve()
    response = _upload(client, build({"cats/ok.png": image_bytes(), sentinel: b"pwned",
                                      "../" * depth + "escape.png": image_bytes()}))
    assert "unsafe" in _error(response, 422, "unsafe_archive")["message"]
    assert not escaped.exists()
    _assert_clean(settings, short_tmp)
    assert _dataset_count(sessions) == 0


@pytest.mark.parametrize("build", [zip_of, tar_of], ids=["zip", "tar"])
def test_absolute_member_paths_write_nothing(client: FlaskClient, settings: Settings, short_tmp: Path,
                                             build: Callable) -> None:
    absolute = str(short_tmp / "escape-absolute.png")
    _error(_upload(client, build({"ok.png": image_bytes(), absolute: image_bytes()})), 422, "unsafe_archive")
    assert not Path(absolute).exists()
    _assert_clean(settings, short_tmp)


def test_links_devices_and_fifos_in_a_tar_are_never_written(client: FlaskClient, settings: Settings,
                                                            short_tmp: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, kind, link in (("sym.png", tarfile.SYMTYPE, "/etc/passwd"),
                                 ("hard.png", tarfile.LNKTYPE, "/etc/passwd"), ("up", tarfile.SYMTYPE, "../../../.."),
                                 ("tty.png", tarfile.CHRTYPE, ""), ("fifo.png", tarfile.FIFOTYPE, "")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tf.addfile(info)
        for i, name in enumerate(("a.png", "up/escape.png")):  # the second goes through the (unwritten) link: inside
            info = tarfile.TarInfo(name)
            info.size = len(data := image_bytes(seed=i))
            tf.addfile(info, io.BytesIO(data))
    response = _upload(client, buffer.getvalue(), "links.tar.gz")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["image_count"], body["skipped_count"]) == (2, 5)
    folder = next(p for p in settings.dataset_dir.iterdir() if p.name != ".staging")
    entries = list(folder.rglob("*"))
    assert all(not p.is_symlink() and (p.is_file() or p.is_dir()) for p in entries), entries
    assert [p for p in short_tmp.rglob("escape*") if folder not in p.parents] == []


def _deflated(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [
    pytest.param(_deflated({"noise.png": np.random.default_rng(0).bytes(1_000_000), "bomb.png": bytes(5_000_000)}),
                 id="zip-member-ratio"),
    pytest.param(_deflated({f"b{i}.png": bytes(900_000) for i in range(8)}), id="zip-overall-ratio"),
    pytest.param(tar_of({"ok.png": image_bytes(), "bomb.png": bytes(5_000_000)}), id="tar.gz-ratio"),
    pytest.param(tar_of({"ok.png": image_bytes(), "skipped.txt": bytes(5_000_000)}), id="tar.gz-skipped-ratio"),
])
def test_zip_bombs_are_413(client: FlaskClient, settings: Settings, short_tmp: Path, sessions: sessionmaker[Session],
                           data: bytes) -> None:
    assert "times its compressed size" in _error(_upload(client, data), 413, "payload_too_large")["message"]
    _assert_clean(settings, short_tmp)
    assert _dataset_count(sessions) == 0


@pytest.mark.parametrize("limits,data,words", [
    ({"max_archive_files": 3}, image_zip(4), "more than 3 files"),
    ({"max_archive_files": 3}, zip_of({"a/": b"", "b/": b"", "c.txt": b"", "d.png": image_bytes()}), "more than 3"),
    ({"max_archive_bytes": 50_000}, image_zip(40, size=64), "more than 50000 bytes"),
    ({"max_upload_bytes": 20_000}, image_zip(40, size=64), "larger than 20000 bytes"),
])
def test_archive_limits_are_413(client_with: Callable[..., FlaskClient], settings: Settings, short_tmp: Path,
                                limits: dict, data: bytes, words: str) -> None:
    limited = client_with(**limits)
    limited.application.config["MAX_CONTENT_LENGTH"] = None  # the service's own limit, as for a chunked upload
    assert words in _error(_upload(limited, data), 413, "payload_too_large")["message"]
    _assert_clean(settings, short_tmp)


def test_the_request_size_limit_is_413(client_with: Callable[..., FlaskClient], settings: Settings,
                                       short_tmp: Path) -> None:
    _error(_upload(client_with(max_upload_bytes=20_000), image_zip(40, size=64)), 413, "payload_too_large")
    _assert_clean(settings, short_tmp)


def test_bomb_corrupt_and_disguised_images_are_skipped_and_counted(client: FlaskClient, settings: Settings) -> None:
    jpeg = image_bytes(size=256, fmt="JPEG")
    response = _upload(client, zip_of({
        "a.png": image_bytes(seed=1), "b.jpg": image_bytes(seed=2, fmt="JPEG"),
        "bomb.png": png_claiming(30_000, 30_000), "warn.png": png_claiming(10_000, 10_000),
        "big.png": png_claiming(8_500, 8_500), "truncated.jpg": jpeg[:-200], "empty.png": b"",
        "doc.png": b"%PDF-1.7\n1 0 obj <<>> endobj\n", "notes.txt": b"hello"}))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["image_count"], body["skipped_count"]) == (2, 7)
    folder = settings.dataset_dir / next(p.name for p in settings.dataset_dir.iterdir() if p.name != ".staging")
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.jpg"]


@pytest.mark.parametrize("members", [
    {"bomb.png": png_claiming(30_000, 30_000), "warn.png": png_claiming(10_000, 10_000)},
    {"truncated.jpg": image_bytes(size=256, fmt="JPEG")[:-200], "doc.png": b"%PDF-1.7\n"},
], ids=["bombs", "corrupt"])
def test_no_valid_image_is_422(client: FlaskClient, settings: Settings, short_tmp: Path, members: dict) -> None:
    error = _error(_upload(client, zip_of(members)), 422, "no_images")
    assert "no readable images (2 files skipped)" in error["message"]
    _assert_clean(settings, short_tmp)


@pytest.mark.parametrize("data,filename", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n", "cats.pdf"),
    (b"%PDF-1.7\n1 0 obj <<>> endobj\n", "cats.zip"),  # the name says zip; the bytes decide
    (b"just a list of cat names\n" * 40, "cats.txt"),
    (image_bytes(), "cat.png"),  # one image, not an archive of them
    (b"\x1f\x8bnot really gzip at all", "cats.tar.gz"),  # a gzip magic with no tar behind it: corrupt
])
def test_files_that_are_not_archives(client: FlaskClient, settings: Settings, short_tmp: Path, data: bytes,
                                     filename: str) -> None:
    response = _upload(client, data, filename)
    if data.startswith(b"\x1f\x8b"):
        _error(response, 422, "invalid_archive")
    else:
        assert _error(response, 415, "unsupported_media_type")["fields"] == {"file": ["Expected a zip or tar archive."]}
    _assert_clean(settings, short_tmp)


def test_wrong_content_types(client: FlaskClient) -> None:
    archive = image_zip(2)
    # multipart where JSON is expected
    for path, method in (("/v1/jobs", "post"), ("/v1/models/cats/policy", "put"),
                         ("/v1/models/cats/labels/stable", "put")):
        response = getattr(client, method)(path, data={"file": (io.BytesIO(archive), "a.zip")},
                                           content_type="multipart/form-data")
        _error(response, 415, "unsupported_media_type")
    # form-encoded, plain text and XML where multipart or JSON is expected
    for content_type, data in (("application/x-www-form-urlencoded", "name=x&path=/"), ("text/plain", "x"),
                               ("application/xml", "<dataset/>")):
        _error(client.post("/v1/datasets", data=data, content_type=content_type), 415, "unsupported_media_type")
    # a JSON upload: the JSON branch takes a server-side folder, and `file` is no field of it
    error = _error(client.post("/v1/datasets", json={"name": "x", "file": "UEsDBA=="}), 422, "validation_error")
    assert set(error["fields"]) == {"file", "path"}
    # a multipart body labelled JSON, and multipart with no file
    _error(client.post("/v1/jobs", data=b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--\r\n",
                       content_type="application/json"), 422, "invalid_json")
    assert _error(client.post("/v1/datasets", data={"name": "cats"}, content_type="multipart/form-data"),
                  422, "validation_error")["fields"] == {"file": ["Missing file."]}


# --- parameters ---------------------------------------------------------------------------------------------------

@pytest.fixture
def dataset_id(client: FlaskClient) -> int:
    response = _upload(client, image_zip(4))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


TRAIN = '{"type": "train", "model": "dcgan", "dataset": DS, "params": %s}'
GENERATE = '{"type": "generate", "model_name": "cats", %s}'


@pytest.mark.parametrize("raw", [
    GENERATE % '"count": NaN',
    GENERATE % '"count": 8, "truncation": Infinity',
    GENERATE % '"count": 8, "truncation": -Infinity',
    TRAIN % '{"lr_g": NaN}',
    TRAIN % '{"max_seconds": Infinity}',
    '{"type": "train", "model": "dcgan", "dataset": NaN}',
    GENERATE % '"count": 8, "seed": 1e400',  # overflows to inf: not a number either
    '[' * 100_000 + ']' * 100_000,  # deeper than the parser's recursion limit
    '{"a": ' * 50_000 + '1' + '}' * 50_000,
    GENERATE % '"count": 8, "label": "st\\ud800ble"',  # a lone surrogate
    GENERATE % '"count": 8, "label": "stable\\u0000"',  # NUL: PostgreSQL refuses it in text
    '{"type": "train", "model": "dcgan", "dataset": 1, "params": {"\\u0000": 1}}',
    '{"type": "train", "model": "dcgan", "dataset": 1',
    '',
])
def test_json_that_is_not_rfc_8259_is_422(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                                          raw: str) -> None:
    raw = raw.replace("DS", str(dataset_id))
    error = _error(client.post("/v1/jobs", data=raw, content_type="application/json"), 422, "invalid_json")
    assert "not valid JSON" in error["message"]
    assert _job_count(sessions) == 0


def test_nan_and_nul_are_refused_by_every_json_endpoint(client: FlaskClient) -> None:
    for path, raw in (("/v1/models/cats/labels/stable", '{"version": NaN}'),
                      ("/v1/models/cats/policy", '{"versions": [Infinity]}'),
                      ("/v1/datasets", '{"name": "cats\\u0000", "path": "/tmp"}'),
                      ("/v1/datasets", '{"name": "\\udc00", "path": "/tmp"}')):
        method = client.post if path == "/v1/datasets" else client.put
        _error(method(path, data=raw, content_type="application/json"), 422, "invalid_json")


HUGE = 10**30


@pytest.mark.parametrize("body,field", [
    # huge ints
    ({"type": "train", "model": "dcgan", "dataset": HUGE}, "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": MAX_ID + 1}, "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "resume_from": HUGE}, "resume_from"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": HUGE}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"seed": -HUGE}}, "params"),
    ({"type": "generate", "model_version": HUGE, "count": 8}, "model_version"),
    ({"type": "generate", "model_name": "cats", "version": HUGE, "count": 8}, "version"),
    ({"type": "generate", "model_version": 1, "count": HUGE}, "count"),
    ({"type": "generate", "model_version": 1, "count": 8, "seed": HUGE}, "seed"),
    ({"type": "translate", "model_version": 1, "dataset": -HUGE}, "dataset"),
    # zero and negative
    ({"type": "train", "model": "dcgan", "dataset": 0}, "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"batch_size": -1}}, "params"),
    ({"type": "generate", "model_version": 1, "count": 8, "truncation": 0}, "truncation"),
    # floats, strings and booleans where ints are expected
    ({"type": "generate", "model_version": 1, "count": 8.0}, "count"),
    ({"type": "generate", "model_version": 1.5, "count": 8}, "model_version"),
    ({"type": "generate", "model_version": 1, "count": True}, "count"),
    ({"type": "generate", "model_version": "1", "count": 8}, "model_version"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"batch_size": 8.5}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": 1e3}}, "params"),
    ({"type": "generate", "model_version": 1, "count": 8, "dedupe": "yes"}, "dedupe"),
    # nested junk
    ({"type": "train", "model": {"$ne": None}, "dataset": "DS"}, "model"),
    ({"type": ["train"], "model": "dcgan", "dataset": "DS"}, "type"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": {"$gt": 0}}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"a": [[[[{"b": None}]]]]}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": [1]}}, "params"),
    ({"type": "generate", "model_version": 1, "class_counts": {"a": {"b": 1}}}, "class_counts"),
    ({"type": "generate", "model_version": 1, "count": 8, "format": ["png"]}, "format"),
    ({"type": "generate", "model_version": 1, "count": 8, "__proto__": {"admin": True}}, "__proto__"),
    ("just a string", "_schema"),
    (None, "_schema"),
    # very long strings and names that would become paths
    ({"type": "train", "model": "x" * 100_000, "dataset": "DS"}, "model"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "a" * 101}, "model_name"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "cats\n"}, "model_name"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "../../etc"}, "model_name"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "Cats"}, "model_name"),
    ({"type": "generate", "model_name": "cats", "label": "stable/../../x", "count": 8}, "label"),
    ({"type": "generate", "model_name": "cats", "label": "s" * 65, "count": 8}, "label"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"x" * 10_000: 1}}, "params"),
])
def test_bad_values_are_422_with_the_field(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                                           body: object, field: str) -> None:
    if isinstance(body, dict) and body.get("dataset") == "DS":
        body = body | {"dataset": dataset_id}
    if body is None:
        response = client.post("/v1/jobs", data="null", content_type="application/json")
    else:
        response = client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    error = response.get_json()["error"]
    assert error["code"] in {"validation_error", "unknown_model", "invalid_json"}, error
    assert field in error.get("fields", {}) or field in error["message"][:300], error
    assert len(response.get_data()) < 1_000_000  # a long value is not echoed back endlessly
    assert _job_count(sessions) == 0


@pytest.mark.parametrize("path", [f"/v1/jobs/{HUGE}", f"/v1/jobs/{MAX_ID + 1}", f"/v1/datasets/{HUGE}",
                                  f"/v1/model-versions/{HUGE}", f"/v1/artifacts/{HUGE}",
                                  f"/v1/artifacts/{HUGE}/content", f"/v1/jobs/{HUGE}/artifacts",
                                  f"/v1/jobs/{HUGE}/result", "/v1/jobs/-1", "/v1/jobs/1e3", "/v1/jobs/0x10",
                                  "/v1/models/" + "x" * 5000, "/v1/models/%00", "/v1/models/..%2F..%2Fetc"])
def test_ids_and_names_in_paths_are_404(client: FlaskClient, path: str) -> None:
    _error(client.get(path), 404, "not_found")


def test_hostile_ids_in_paths_of_writes_are_404(client: FlaskClient) -> None:
    _error(client.post(f"/v1/jobs/{HUGE}/cancel"), 404, "not_found")
    _error(client.post(f"/v1/jobs/{HUGE}/resume"), 404, "not_found")


@pytest.mark.parametrize("query,field,code", [
    ("limit=NaN", "limit", "validation_error"), ("limit=1e3", "limit", "validation_error"),
    ("limit=" + str(HUGE), "limit", "validation_error"), ("limit=-1", "limit", "validation_error"),
    ("limit=0", "limit", "validation_error"), ("status=exploded", "status", "validation_error"),
    ("type=%00", "type", "validation_error"), ("cursor=" + "A" * 500, "cursor", "validation_error"),
    ("cursor=%00%ff", "cursor", "invalid_cursor"),
])
def test_bad_queries_are_422(client: FlaskClient, query: str, field: str, code: str) -> None:
    error = _error(client.get(f"/v1/jobs?{query}"), 422, code)
    assert field in error.get("fields", {}), error


@pytest.mark.parametrize("path,body,field", [
    ("/v1/models/cats/labels/stable", {"version": HUGE}, "version"),
    ("/v1/models/cats/labels/stable", {"version": 1.0}, "version"),
    ("/v1/models/cats/labels/stable", {"version": 1, "extra": 1}, "extra"),
    ("/v1/models/cats/labels/" + "s" * 100, {"version": 1}, "label"),
    ("/v1/models/cats/labels/Stable", {"version": 1}, "label"),
    ("/v1/models/cats/policy", {"versions": [HUGE]}, "versions"),
    ("/v1/models/cats/policy", {"versions": [[1]]}, "versions"),
    ("/v1/models/cats/policy", {"versions": list(range(1, 1000))}, "versions"),
    ("/v1/models/cats/policy", {"versions": "all"}, "versions"),
])
def test_bad_model_requests_are_422(client: FlaskClient, path: str, body: dict, field: str) -> None:
    error = _error(client.put(path, json=body), 422, "validation_error")
    assert field in error.get("fields", {}), error


@pytest.mark.parametrize("name", ["", "n" * 201, "cats\u0000", "cats\x00.zip"])
def test_bad_dataset_names_are_422(client: FlaskClient, image_folder: Path, settings: Settings, short_tmp: Path,
                                   name: str) -> None:
    if name.endswith(".zip"):  # the upload's file name stands in for a missing `name`
        response = _upload(client, image_zip(2), name)
    else:
        response = _upload(client, image_zip(2), "cats.zip", name=name)
    if name == "":  # an empty form field means "use the file name"
        assert response.status_code == 201, response.get_json()
        return
    error = _error(response, 422, "validation_error")
    assert "name" in error["fields"], error
    _assert_clean(settings, short_tmp)


# --- server-side folders ------------------------------------------------------------------------------------------

@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """An allow-listed root holding a folder of images, and a folder of images outside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    write_images(root / "cats", 3)
    write_images(outside, 3)
    return root, outside


def test_folders_under_the_root_are_allowed(client_with: Callable[..., FlaskClient], roots: tuple[Path, Path]) -> None:
    root, _ = roots
    allowed = client_with(local_path_root=root)
    response = allowed.post("/v1/datasets", json={"name": "cats", "path": str(root / "cats")})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["image_count"] == 3
    (root / "cats" / "twin").symlink_to(root / "cats")  # a link that stays inside the root is fine
    assert allowed.post("/v1/datasets", json={"name": "c", "path": str(root / "cats")}).status_code == 201


@pytest.mark.parametrize("case", ["dotdot", "absolute", "link_to_outside", "file_link", "dir_link", "loop", "tilde"])
def test_paths_outside_the_root_are_refused(client_with: Callable[..., FlaskClient], roots: tuple[Path, Path],
                                            sessions: sessionmaker[Session], case: str) -> None:
    root, outside = roots
    cats = root / "cats"
    if case == "dotdot":
        path = f"{root}/cats/../../outside"
    elif case == "absolute":
        path = str(outside)
    elif case == "link_to_outside":
        (root / "door").symlink_to(outside)
        path = str(root / "door")
    elif case == "file_link":  # a folder under the root holding a link to a file outside it
        (cats / "secret.png").symlink_to(outside / "img-0000.png")
        path = str(cats)
    elif case == "dir_link":
        (cats / "more").symlink_to(outside)
        path = str(cats)
    elif case == "loop":
        (cats / "loop.png").symlink_to(cats / "loop.png")
        path = str(cats)
    else:
        path = "~/"
    response = client_with(local_path_root=root).post("/v1/datasets", json={"name": "x", "path": path})
    error = _error(response, 422, "path_not_allowed")
    assert error["fields"]["path"], error
    assert _dataset_count(sessions) == 0


@pytest.mark.parametrize("path", ["/nonexistent/cats", "~nosuchuser-catgan/cats", "/" + "a" * 300,
                                  "/".join(["x"] * 2000), "relative/../../cats"])
def test_folders_that_cannot_be_read_are_422(client: FlaskClient, path: str) -> None:
    _error(client.post("/v1/datasets", json={"name": "x", "path": path}), 422, "path_not_found")


def test_a_self_referencing_link_is_422(client: FlaskClient, tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    _error(client.post("/v1/datasets", json={"name": "x", "path": str(tmp_path / "loop")}), 422, "path_not_found")


def test_server_side_folders_can_be_switched_off(client_with: Callable[..., FlaskClient], image_folder: Path) -> None:
    response = client_with(allow_local_paths=False).post("/v1/datasets", json={"name": "x", "path": str(image_folder)})
    _error(response, 403, "local_paths_disabled")


def test_the_folder_is_never_modified(client: FlaskClient, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_images(folder, 2)
    (folder / "bomb.png").write_bytes(png_claiming(30_000, 30_000))
    (folder / "notes.txt").write_text("x")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    response = client.post("/v1/datasets", json={"name": "mixed", "path": str(folder)})
    assert response.status_code == 201 and response.get_json()["skipped_count"] == 1
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before
    assert os.listdir(folder) and not any(p.is_symlink() for p in folder.iterdir())
