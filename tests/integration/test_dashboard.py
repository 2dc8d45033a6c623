"""The dashboard (Flask test client, real database and Redis): API-key sign-in into a signed HttpOnly,
SameSite=Strict cookie, CSRF on every change, owner scoping, the /v1 API deaf to the cookie, /docs served locally."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.db import session_scope
from core.models import Job
from core.settings import Settings
from tests.support.auth import make_token
from tests.support.http import expect_error
from tests.support.images import image_zip


def _form_token(client: FlaskClient) -> str:
    page = client.get("/ui/sign-in").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _sign_in(client: FlaskClient, token: str) -> str:
    """Sign in with `token`; the page's CSRF token."""
    response = client.post("/ui/sign-in", data={"api_key": token, "form_token": _form_token(client), "next": "/"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _job(sessions: sessionmaker[Session], owner: str, status: str = "running") -> int:
    with session_scope(sessions) as session:
        job = Job(type="train", model="dcgan", status=status, owner=owner, params={"model_name": "m"})
        session.add(job)
        session.flush()
        return job.id


def test_a_bad_key_is_told_on_the_page_and_sets_no_cookie(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/ui/sign-in", data={"api_key": "cg_not-a-key", "form_token": _form_token(client)})
    assert response.status_code == 401
    assert "unknown or revoked" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert client.get("/ui/jobs").status_code == 302  # still signed out: pages send you to sign in


def test_sign_in_sets_an_httponly_strict_cookie_and_shows_the_owners_jobs(app: Flask,
                                                                          sessions: sessionmaker[Session]) -> None:
    mine, theirs = _job(sessions, "alice"), _job(sessions, "bob")
    client = app.test_client()
    response = client.post("/ui/sign-in", data={"api_key": make_token(sessions, "alice"),
                                                "form_token": _form_token(client), "next": "/ui/datasets"})
    assert (response.status_code, response.headers["Location"]) == (302, "/ui/datasets")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("catgan_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/").get_data(as_text=True)
    assert f"#{mine}" in page and f"#{theirs}" not in page and "alice" in page
    assert client.get(f"/ui/jobs/{mine}").status_code == 200
    expect_error(client.get(f"/ui/jobs/{theirs}"), 404, "not_found")
    expect_error(client.get(f"/ui/api/jobs/{theirs}"), 404, "not_found")
    assert client.get(f"/ui/api/jobs/{mine}").get_json()["id"] == mine


def test_a_sign_in_post_without_our_forms_token_is_refused(app: Flask, sessions: sessionmaker[Session]) -> None:
    response = app.test_client().post("/ui/sign-in", data={"api_key": make_token(sessions, "alice")})
    expect_error(response, 403, "csrf_failed")
    assert "Set-Cookie" not in response.headers


def test_changes_need_the_sessions_csrf_token(app: Flask, sessions: sessionmaker[Session]) -> None:
    job_id = _job(sessions, "alice")
    client = app.test_client()
    csrf = _sign_in(client, make_token(sessions, "alice"))
    expect_error(client.post(f"/ui/api/jobs/{job_id}/cancel"), 403, "csrf_failed")
    expect_error(client.post(f"/ui/api/jobs/{job_id}/cancel", headers={"X-CSRF-Token": "forged"}), 403, "csrf_failed")
    expect_error(client.post("/ui/sign-out"), 403, "csrf_failed")
    assert client.get(f"/ui/api/jobs/{job_id}").get_json()["cancel_requested"] is False
    response = client.post(f"/ui/api/jobs/{job_id}/cancel", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.get_json()["cancel_requested"] is True
    assert client.post("/ui/sign-out", data={"csrf_token": csrf}).status_code == 302
    expect_error(client.get(f"/ui/api/jobs/{job_id}"), 401, "signed_out")


def test_the_v1_api_ignores_the_session_cookie(app: Flask, sessions: sessionmaker[Session]) -> None:
    client = app.test_client()
    _sign_in(client, make_token(sessions, "alice"))
    assert client.get("/ui/api/jobs").status_code == 200
    expect_error(client.get("/v1/jobs"), 401, "unauthorized")


def test_a_revoked_key_signs_its_sessions_out(app: Flask, sessions: sessionmaker[Session]) -> None:
    from core.services import keys
    client = app.test_client()
    token = make_token(sessions, "alice")
    _sign_in(client, token)
    with session_scope(sessions) as session:
        keys.revoke_key(session=session, key_id_or_prefix=token[:10])
    assert client.get("/ui/jobs").status_code == 302


def test_an_upload_through_the_dashboard_gets_a_thumbnail_sheet(app: Flask, settings: Settings,
                                                                 sessions: sessionmaker[Session]) -> None:
    client = app.test_client()
    csrf = _sign_in(client, make_token(sessions, "alice"))
    upload = {"file": (io.BytesIO(image_zip(20)), "cats.zip"), "name": "cats"}
    expect_error(client.post("/ui/api/datasets", data=dict(upload), content_type="multipart/form-data"), 403,
                 "csrf_failed")
    upload = {"file": (io.BytesIO(image_zip(20)), "cats.zip"), "name": "cats"}
    response = client.post("/ui/api/datasets", data=upload, content_type="multipart/form-data",
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.get_json()
    dataset = response.get_json()
    assert (dataset["owner"], dataset["image_count"]) == ("alice", 20)
    page = client.get("/ui/datasets").get_data(as_text=True)
    assert "20</b> images" in page and '<span class="held-out">0</span> held out' in page  # < 100: none
    sheet = client.get(f"/ui/datasets/{dataset['id']}/thumbnails.png")
    assert sheet.status_code == 200 and sheet.mimetype == "image/png"
    assert Image.open(io.BytesIO(sheet.data)).size == (768, 192)  # 16 of the 20 images, two rows of eight
    assert list((settings.home / "thumbnails").glob(f"dataset-{dataset['id']}-*.png"))  # kept for next time


def test_auth_off_needs_no_sign_in(settings: Settings, sessions: sessionmaker[Session]) -> None:
    app = create_app(settings.model_copy(update={"auth": "off"}))
    try:
        page = app.test_client().get("/")
        assert page.status_code == 200 and "Sign out" not in page.get_data(as_text=True)
    finally:
        app.extensions["catgan"].engine.dispose()


def test_the_session_secret_is_made_once_and_kept_private(app: Flask, settings: Settings) -> None:
    path: Path = settings.home / "secret-key"
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600  # made by the `app` fixture's create_app
    first = path.read_text()
    other = create_app(settings)
    try:
        assert other.secret_key == first.strip() and path.read_text() == first
    finally:
        other.extensions["catgan"].engine.dispose()


def test_docs_page_loads_swagger_ui_from_this_server(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    assert "/openapi.json" in page and "http://" not in page and "https://" not in page
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert asset.startswith("/ui/static/swagger-ui/")
        with client.get(asset) as response:
            assert response.status_code == 200
    assert "/v1/jobs/{job_id}/history" in client.get("/openapi.json").get_json()["paths"]
