"""Server-side folders: admin keys only, never the service's own data, and walked within bounds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from catgan.localkey import ensure_local_key, key_file
from api.context import EXTENSION
from core.models import LOCAL_OWNER, Dataset
from core.settings import Settings
from tests.support.auth import authorize, make_token
from tests.support.http import count_rows, expect_error, upload
from tests.support.images import image_zip, write_images


@pytest.fixture
def admin(app: Flask, sessions: sessionmaker[Session]) -> FlaskClient:
    """The API with an admin key (of the owner "ops")."""
    return authorize(app.test_client(), make_token(sessions, "ops", admin=True))


@pytest.fixture
def app_with(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Another app on the same deployment, with some settings changed."""
    apps: list[Flask] = []

    def make(**changes: object) -> Flask:
        apps.append(create_app(settings.model_copy(update=changes)))
        return apps[-1]

    yield make
    for other in apps:
        other.extensions[EXTENSION].engine.dispose()


def _register(client: FlaskClient, path: Path | str, name: str = "cats") -> object:
    return client.post("/v1/datasets", json={"name": name, "path": str(path)})


def test_only_admin_keys_register_folders(client: FlaskClient, admin: FlaskClient, image_folder: Path,
                                          tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    for path in (image_folder, tmp_path / "no-such-folder", "/"):  # refused before the path is even looked at
        error = expect_error(_register(client, path), 403, "admin_required")
        assert "admin API key" in error["message"] and "upload an archive" in error["message"]
    assert count_rows(sessions, Dataset) == 0
    response = _register(admin, image_folder)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["image_count"], response.get_json()["owner"]) == (40, "ops")
    assert client.get(f"/v1/datasets/{response.get_json()['id']}").status_code == 404  # the admin's, not alice's


def test_the_services_own_data_is_refused(client: FlaskClient, admin: FlaskClient, settings: Settings,
                                          short_tmp: Path, sessions: sessionmaker[Session],
                                          subtests: pytest.Subtests) -> None:
    assert upload(client, image_zip(3)).status_code == 201  # alice's images, now under HOME/datasets/<folder>
    assert settings.dataset_dir is not None and settings.model_repository is not None
    [uploaded] = [p for p in settings.dataset_dir.iterdir() if p.name != ".staging"]
    linked = short_tmp / "outside" / "cats"
    write_images(linked, 2)
    (linked / "stolen.png").symlink_to(next(uploaded.rglob("*.png")))
    cases = {"HOME": settings.home, "the dataset dir": settings.dataset_dir, "an upload": uploaded,
             "a folder of an upload": next(p for p in uploaded.rglob("*") if p.is_dir()),
             "the model repository": settings.model_repository, "the parent of HOME": settings.home.parent,
             "/": Path("/"), "a dotted way in": f"{short_tmp}/outside/../home/datasets",
             "a link into an upload": linked}
    for case, path in cases.items():
        with subtests.test(case=case):
            error = expect_error(_register(admin, path), 422, "path_not_allowed")
            assert "the service's own data" in error["message"], error
            assert error["fields"]["path"]
    assert count_rows(sessions, Dataset) == 1  # alice's upload only


def test_the_walk_is_bounded(app_with: Callable[..., Flask], sessions: sessionmaker[Session], tmp_path: Path,
                             subtests: pytest.Subtests) -> None:
    token = make_token(sessions, "ops", admin=True)
    wide = tmp_path / "wide"
    write_images(wide, 12)
    deep = tmp_path / "deep"
    write_images(deep / "/".join("abcdef"), 2)  # images six folders down
    cases = [({"max_folder_entries": 11}, wide, 413, "folder_too_large", "more than 11 files and folders"),
             ({"max_folder_entries": 11}, deep, 201, None, None),
             ({"max_folder_depth": 5}, deep, 413, "folder_too_deep", "more than 5 levels deep"),
             ({"max_folder_entries": 12, "max_folder_depth": 6}, wide, 201, None, None)]
    for changes, folder, status, code, words in cases:
        with subtests.test(changes=changes, folder=folder.name):
            limited = authorize(app_with(**changes).test_client(), token)
            before = count_rows(sessions, Dataset)
            response = _register(limited, folder)
            if code is None:
                assert response.status_code == status, response.get_json()
                assert count_rows(sessions, Dataset) == before + 1
            else:
                assert words in expect_error(response, status, code)["message"]
                assert count_rows(sessions, Dataset) == before


def test_without_auth_the_local_user_is_admin(app_with: Callable[..., Flask], settings: Settings,
                                              image_folder: Path) -> None:
    local = app_with(auth="off").test_client()
    response = _register(local, image_folder)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["owner"] == LOCAL_OWNER
    expect_error(_register(local, settings.home), 422, "path_not_allowed")


def test_the_local_key_of_catgan_up_registers_folders(app: Flask, settings: Settings, image_folder: Path,
                                                      sessions: sessionmaker[Session]) -> None:
    old = make_token(sessions, LOCAL_OWNER)  # a local key saved before local keys were admin keys
    key_file(settings).write_text(old + "\n")
    token, made = ensure_local_key(settings)
    assert made and token != old and key_file(settings).read_text().strip() == token
    response = _register(authorize(app.test_client(), token), image_folder)  # what `catgan quickstart` does
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["owner"] == LOCAL_OWNER
