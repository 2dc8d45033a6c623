"""Input that tries to break us: every hostile upload, body, path and query gets a 4xx with a code — never a 500 —
and leaves nothing behind, inside the data directory or outside it.

Uploads and server-side folders here; bodies, parameters, ids and queries in test_hostile_requests.py.
Each test runs its many cases as subtests on one deployment (a deployment per case would take minutes).
"""

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
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from api.app import create_app
from api.context import EXTENSION
from core.models import Dataset
from core.settings import Settings
from tests.support.auth import as_admin
from tests.support.http import count_rows, expect_error, upload
from tests.support.images import image_bytes, image_zip, png_claiming, tar_of, write_images, zip_of

HUGE = 10**30

HUGE = 10**30


def _assert_clean(settings: Settings, root: Path) -> None:
    """No dataset folder, an empty staging area, and no `escape*` sentinel anywhere under the test's root."""
    assert settings.dataset_dir is not None
    assert [p.name for p in settings.dataset_dir.iterdir() if p.name != ".staging"] == []
    staging = settings.dataset_dir / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert list(root.rglob("escape*")) == []


def _only_dataset_folder(settings: Settings) -> Path:
    """The one dataset's folder; the staging area it was unpacked in is empty again."""
    assert settings.dataset_dir is not None
    [folder] = [p for p in settings.dataset_dir.iterdir() if p.name != ".staging"]
    assert list((settings.dataset_dir / ".staging").iterdir()) == []
    return folder


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



def test_archive_paths_that_leave_the_target_write_nothing(client: FlaskClient, settings: Settings, short_tmp: Path,
                                                           sessions: sessionmaker[Session],
                                                           subtests: pytest.Subtests) -> None:
    assert settings.dataset_dir is not None
    cases = [(build, "../" * depth + "escape.txt") for build in (zip_of, tar_of) for depth in (1, 2, 4, 6, 9)]
    cases += [(build, str(short_tmp / "escape-absolute.png")) for build in (zip_of, tar_of)]
    cases += [(zip_of, "..\\..\\..\\..\\escape.png"), (tar_of, "cats/../../../../escape.png")]
    for build, sentinel in cases:
        with subtests.test(archive=build.__name__, member=sentinel):
            escaped = (settings.dataset_dir / ".staging" / "x" / "images" / sentinel.replace("\\", "/")).resolve()
            archive = build({"cats/ok.png": image_bytes(), sentinel: b"pwned", sentinel + ".png": image_bytes()})
            assert "unsafe" in expect_error(upload(client, archive), 422, "unsafe_archive")["message"]
            assert not escaped.exists() and not Path(sentinel).exists()
            _assert_clean(settings, short_tmp)
    assert count_rows(sessions, Dataset) == 0


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
    response = upload(client, buffer.getvalue(), "links.tar.gz")
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["image_count"], response.get_json()["skipped_count"]) == (2, 5)
    folder = _only_dataset_folder(settings)
    entries = list(folder.rglob("*"))
    assert all(not p.is_symlink() and (p.is_file() or p.is_dir()) for p in entries), entries
    assert [p for p in short_tmp.rglob("escape*") if folder not in p.parents] == []


def test_zip_bombs_are_413(client: FlaskClient, settings: Settings, short_tmp: Path, sessions: sessionmaker[Session],
                           subtests: pytest.Subtests) -> None:
    noise = np.random.default_rng(0).bytes(1_000_000)
    bombs = {
        "zip member ratio": zip_of({"noise.png": noise, "bomb.png": bytes(5_000_000)}, zipfile.ZIP_DEFLATED),
        "zip overall ratio": zip_of({f"b{i}.png": bytes(900_000) for i in range(8)}, zipfile.ZIP_DEFLATED),
        "tar.gz ratio": tar_of({"ok.png": image_bytes(), "bomb.png": bytes(5_000_000)}),
        "tar.gz skipped member": tar_of({"ok.png": image_bytes(), "skipped.txt": bytes(5_000_000)}),
    }
    for case, data in bombs.items():
        with subtests.test(case=case):
            error = expect_error(upload(client, data), 413, "payload_too_large")
            assert "times its compressed size" in error["message"]
            _assert_clean(settings, short_tmp)
    assert count_rows(sessions, Dataset) == 0


def test_archive_limits_are_413(client: FlaskClient, client_with: Callable[..., FlaskClient], settings: Settings,
                                short_tmp: Path, subtests: pytest.Subtests) -> None:
    cases = [
        ({"max_archive_files": 3}, image_zip(4), "more than 3 files"),
        ({"max_archive_files": 3}, zip_of({"a/": b"", "b/": b"", "c.txt": b"", "d.png": image_bytes()}), "more than 3"),
        ({"max_archive_bytes": 50_000}, image_zip(40, size=64), "more than 50000 bytes"),
        ({"max_upload_bytes": 20_000}, image_zip(40, size=64), "larger than 20000 bytes"),
    ]
    for limits, data, words in cases:
        with subtests.test(limits=limits):
            limited = client_with(**limits)
            limited.application.config["MAX_CONTENT_LENGTH"] = None  # the service's own limits, as when chunked
            assert words in expect_error(upload(limited, data), 413, "payload_too_large")["message"]
            _assert_clean(settings, short_tmp)
    with subtests.test(limits="request size"):
        expect_error(upload(client_with(max_upload_bytes=20_000), image_zip(40, size=64)), 413, "payload_too_large")
        _assert_clean(settings, short_tmp)


def test_bomb_corrupt_and_disguised_images_are_skipped_and_counted(client: FlaskClient, settings: Settings) -> None:
    jpeg = image_bytes(size=256, fmt="JPEG")
    response = upload(client, zip_of({
        "a.png": image_bytes(seed=1), "b.jpg": image_bytes(seed=2, fmt="JPEG"),
        "bomb.png": png_claiming(30_000, 30_000), "warn.png": png_claiming(10_000, 10_000),
        "big.png": png_claiming(8_500, 8_500), "truncated.jpg": jpeg[:-200], "empty.png": b"",
        "doc.png": b"%PDF-1.7\n1 0 obj <<>> endobj\n", "notes.txt": b"hello"}))
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["image_count"], response.get_json()["skipped_count"]) == (2, 7)
    assert sorted(p.name for p in _only_dataset_folder(settings).iterdir()) == ["a.png", "b.jpg"]


def test_files_that_hold_no_valid_image_or_are_no_archive(client: FlaskClient, settings: Settings, short_tmp: Path,
                                                          sessions: sessionmaker[Session],
                                                          subtests: pytest.Subtests) -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    cases = [
        ("only bombs", zip_of({"bomb.png": png_claiming(30_000, 30_000), "warn.png": png_claiming(10_000, 10_000)}),
         "x.zip", 422, "no_images"),
        ("only corrupt", zip_of({"t.jpg": image_bytes(size=256, fmt="JPEG")[:-200], "doc.png": pdf}), "x.zip",
         422, "no_images"),
        ("a PDF", pdf, "cats.pdf", 415, "unsupported_media_type"),
        ("a PDF named zip", pdf, "cats.zip", 415, "unsupported_media_type"),  # the bytes decide, not the name
        ("plain text", b"just a list of cat names\n" * 40, "cats.txt", 415, "unsupported_media_type"),
        ("one image", image_bytes(), "cat.png", 415, "unsupported_media_type"),
        ("gzip magic, no tar", b"\x1f\x8bnot really gzip at all", "cats.tar.gz", 422, "invalid_archive"),
        ("empty", b"", "cats.zip", 422, "empty_upload"),
    ]
    for case, data, filename, status, code in cases:
        with subtests.test(case=case):
            error = expect_error(upload(client, data, filename), status, code)
            if status == 415:
                assert error["fields"] == {"file": ["Expected a zip or tar archive."]}
            if code == "no_images":
                assert "no readable images (2 files skipped)" in error["message"]
            _assert_clean(settings, short_tmp)
    assert count_rows(sessions, Dataset) == 0


def test_wrong_content_types(client: FlaskClient, subtests: pytest.Subtests) -> None:
    archive = image_zip(2)
    for path, method in (("/v1/jobs", "post"), ("/v1/models/cats/policy", "put"),
                         ("/v1/models/cats/labels/stable", "put")):
        with subtests.test(case=f"multipart to {method.upper()} {path}"):
            response = getattr(client, method)(path, data={"file": (io.BytesIO(archive), "a.zip")},
                                               content_type="multipart/form-data")
            expect_error(response, 415, "unsupported_media_type")
    for content_type, data in (("application/x-www-form-urlencoded", "name=x&path=/"), ("text/plain", "x"),
                               ("application/xml", "<dataset/>"), ("application/pdf", "%PDF-1.7")):
        with subtests.test(case=f"{content_type} to POST /v1/datasets"):
            response = client.post("/v1/datasets", data=data, content_type=content_type)
            expect_error(response, 415, "unsupported_media_type")
    with subtests.test(case="a JSON 'upload': the JSON branch takes a server-side folder"):
        response = client.post("/v1/datasets", json={"name": "x", "file": "UEsDBA=="})
        error = expect_error(response, 422, "validation_error")
        assert set(error["fields"]) == {"file", "path"}
    with subtests.test(case="multipart labelled JSON"):
        body = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--\r\n"
        expect_error(client.post("/v1/jobs", data=body, content_type="application/json"), 422, "invalid_json")
    with subtests.test(case="multipart without a file"):
        error = expect_error(_upload_form_only(client), 422, "validation_error")
        assert error["fields"] == {"file": ["Missing file."]}


def _upload_form_only(client: FlaskClient) -> TestResponse:
    return client.post("/v1/datasets", data={"name": "cats"}, content_type="multipart/form-data")


def test_bad_dataset_names(client: FlaskClient, settings: Settings, short_tmp: Path,
                           subtests: pytest.Subtests) -> None:
    for case, response in (("too long", lambda: upload(client, image_zip(2), name="n" * 201)),
                           ("NUL in the form", lambda: upload(client, image_zip(2), name="cats\x00")),
                           ("NUL in the file name", lambda: upload(client, image_zip(2), "cats\x00.zip"))):
        with subtests.test(case=case):
            assert "name" in expect_error(response(), 422, "validation_error")["fields"]
            _assert_clean(settings, short_tmp)


# --- parameters ---------------------------------------------------------------------------------------------------

def _roots(base: Path) -> tuple[Path, Path]:
    """An allow-listed root holding a folder of images, and a folder of images outside it."""
    root, outside = base / "root", base / "outside"
    write_images(root / "cats", 3)
    write_images(outside, 3)
    return root, outside


def test_folders_under_the_root_are_allowed(client: FlaskClient, client_with: Callable[..., FlaskClient],
                                            sessions: sessionmaker[Session], tmp_path: Path) -> None:
    as_admin(client, sessions)  # server-side folders need an admin key; client_with copies it
    root, _ = _roots(tmp_path)
    allowed = client_with(local_path_root=root)
    response = allowed.post("/v1/datasets", json={"name": "cats", "path": str(root / "cats")})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["image_count"] == 3
    (root / "cats" / "twin").symlink_to(root / "cats")  # a link that stays inside the root is fine
    (root / "cats" / "same.png").symlink_to(root / "cats" / "img-0000.png")
    response = allowed.post("/v1/datasets", json={"name": "c", "path": str(root / "cats")})
    assert response.status_code == 201, response.get_json()


def _escape_route(case: str, root: Path, outside: Path) -> str:
    cats = root / "cats"
    if case == "dotdot":
        return f"{root}/cats/../../outside"
    if case == "absolute path elsewhere":
        return str(outside)
    if case == "link to a folder outside":
        (root / "door").symlink_to(outside)
        return str(root / "door")
    if case == "link to a file outside, inside the folder":
        (cats / "secret.png").symlink_to(outside / "img-0000.png")
    elif case == "link to a folder outside, inside the folder":
        (cats / "more").symlink_to(outside)
    elif case == "link loop inside the folder":
        (cats / "loop.png").symlink_to(cats / "loop.png")
    elif case == "~":
        return "~/"
    return str(cats)


def test_paths_outside_the_root_are_refused(client: FlaskClient, client_with: Callable[..., FlaskClient],
                                            tmp_path: Path, sessions: sessionmaker[Session],
                                            subtests: pytest.Subtests) -> None:
    as_admin(client, sessions)  # server-side folders need an admin key; client_with copies it
    for i, case in enumerate(["dotdot", "absolute path elsewhere", "link to a folder outside",
                              "link to a file outside, inside the folder",
                              "link to a folder outside, inside the folder", "link loop inside the folder", "~"]):
        with subtests.test(case=case):
            root, outside = _roots(tmp_path / str(i))
            path = _escape_route(case, root, outside)
            response = client_with(local_path_root=root).post("/v1/datasets", json={"name": "x", "path": path})
            assert expect_error(response, 422, "path_not_allowed")["fields"]["path"]
    assert count_rows(sessions, Dataset) == 0


def test_folders_that_cannot_be_read_are_422(client: FlaskClient, tmp_path: Path, sessions: sessionmaker[Session],
                                             subtests: pytest.Subtests) -> None:
    as_admin(client, sessions)  # server-side folders need an admin key
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for path in ["/nonexistent/cats", "~nosuchuser-catgan/cats", "/" + "a" * 300, "/".join(["x"] * 2000),
                 "relative/../../cats", str(tmp_path / "loop"), "/dev/null", "/etc/passwd"]:
        with subtests.test(path=path[:80]):
            expect_error(client.post("/v1/datasets", json={"name": "x", "path": path}), 422, "path_not_found")


def test_server_side_folders_can_be_switched_off(client_with: Callable[..., FlaskClient], image_folder: Path) -> None:
    response = client_with(allow_local_paths=False).post("/v1/datasets", json={"name": "x", "path": str(image_folder)})
    expect_error(response, 403, "local_paths_disabled")


def test_a_registered_folder_is_never_modified(client: FlaskClient, tmp_path: Path,
                                               sessions: sessionmaker[Session]) -> None:
    as_admin(client, sessions)  # server-side folders need an admin key
    folder = tmp_path / "mixed"
    write_images(folder, 2)
    (folder / "bomb.png").write_bytes(png_claiming(30_000, 30_000))
    (folder / "notes.txt").write_text("x")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    response = client.post("/v1/datasets", json={"name": "mixed", "path": str(folder)})
    assert response.status_code == 201 and response.get_json()["skipped_count"] == 1
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before
    assert sorted(os.listdir(folder)) == sorted(before)
