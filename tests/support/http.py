"""HTTP helpers for the hostile-input tests: uploads built in memory, and error expectations."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse


def upload(client: FlaskClient, data: bytes, filename: str = "upload.zip", **form: str) -> TestResponse:
    """POST /v1/datasets with `data` as the file part (and `form` fields)."""
    # Encoded here, in memory: the test client spools a body over 500 kB to a temporary file it never closes.
    boundary = "catgan-boundary-7d1f3e"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode() + value.encode()
             for key, value in form.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data)
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/v1/datasets", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def expect_error(response: TestResponse, status: int, code: str) -> dict:
    """The error body of `response`, asserting its status and code."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    error = response.get_json()["error"]
    assert error["code"] == code, error
    return error


def count_rows(sessions: sessionmaker[Session], model: type) -> int:
    """How many rows `model`'s table holds."""
    with sessions() as session:
        return session.scalar(select(func.count(model.id)))
