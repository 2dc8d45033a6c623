"""Webhooks on a real database and Redis: the allow-list at submit, owners' secrets, the sink's queueing and
throttling, and signed, recorded delivery attempts to a real receiver on 127.0.0.1 (refused, without a request,
when the host resolves to a loopback address the allow-list does not name)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.db import session_scope
from core.events import JobEvent, redis_url
from core.models import Job, WebhookDelivery
from core.queue import QUEUE_WEBHOOKS, make_celery
from core.services import webhooks
from core.settings import Settings
from tests.support.auth import authorize, make_token
from tests.support.backends import Backend, settings_env
from tests.support.http import count_rows, expect_error, upload
from tests.support.images import image_zip
from tests.support.jobs import submit
from tests.support.receiver import Receiver, receiver
from worker.webhooks import attempt_delivery


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@pytest.fixture
def unlisted() -> Iterator[Receiver]:
    """A receiver on a port the allow-list names only by `localhost`, never by its loopback address."""
    with receiver() as state:
        yield state


@pytest.fixture
def env(backend: Backend, short_tmp: Path, hook: Receiver) -> dict[str, str]:
    return settings_env(short_tmp / "home", backend, webhook_allowed_hosts=f"127.0.0.1:{hook.port}, localhost",
                        webhook_progress_interval_seconds="30")


def _dataset(client: FlaskClient) -> int:
    response = upload(client, image_zip(8), name="hooked")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _train(client: FlaskClient, webhook: dict | None, status: int = 202) -> dict:
    body = {"type": "train", "model": "dcgan", "dataset": _dataset(client), "params": {"batch_size": 4, "epochs": 1}}
    return submit(client, body | ({"webhook": webhook} if webhook is not None else {}), status)


def test_a_listed_webhook_is_stored_on_the_job_with_default_events(client: FlaskClient, hook: Receiver,
                                                                   sessions: sessionmaker[Session]) -> None:
    job = _train(client, {"url": hook.url})
    with sessions() as session:
        assert session.get(Job, job["id"]).webhook == {"url": hook.url, "events": ["status"]}


@pytest.mark.parametrize(("webhook", "code"), [
    ({"url": "https://hooks.example.com/x"}, "webhook_host_not_allowed"),
    ({"url": "http://127.0.0.1:1/x"}, "webhook_host_not_allowed"),  # listed address, other port
    ({"url": "http://10.0.0.1/x"}, "webhook_host_not_allowed"),
    ({"url": "ftp://localhost/x"}, "invalid_webhook_url"),
    ({"url": "http://user:pw@localhost/x"}, "invalid_webhook_url"),
    ({"url": "http://localhost/" + "a" * 2100}, "validation_error"),
    ({"url": "http://localhost/x", "events": ["status", "gossip"]}, "validation_error"),
    ({"url": "http://localhost/x", "events": []}, "validation_error"),
    ({"url": "http://localhost/x", "secret": "mine"}, "validation_error"),
])
def test_a_bad_webhook_is_422_with_field_errors_and_stores_nothing(client: FlaskClient, webhook: dict, code: str,
                                                                   sessions: sessionmaker[Session]) -> None:
    dataset = _dataset(client)
    response = client.post("/v1/jobs", json={"type": "train", "model": "dcgan", "dataset": dataset,
                                             "params": {"batch_size": 4}, "webhook": webhook})
    error = expect_error(response, 422, code)
    assert "webhook" in error["fields"], error
    assert count_rows(sessions, Job) == 0


def test_the_secret_is_made_on_first_read_kept_rotated_and_per_owner(client: FlaskClient, app: object,
                                                                      sessions: sessionmaker[Session]) -> None:
    first = client.get("/v1/webhooks/secret")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    secret = first.get_json()["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert client.get("/v1/webhooks/secret").get_json()["secret"] == secret
    bob = authorize(app.test_client(), make_token(sessions, "bob"))  # type: ignore[attr-defined]
    assert bob.get("/v1/webhooks/secret").get_json()["secret"] not in (secret, None)
    rotated = client.post("/v1/webhooks/secret/rotate").get_json()["secret"]
    assert rotated.startswith("whsec_") and rotated != secret
    assert client.get("/v1/webhooks/secret").get_json()["secret"] == rotated


def test_another_owner_cannot_read_the_deliveries(client: FlaskClient, app: object, hook: Receiver,
                                                  sessions: sessionmaker[Session]) -> None:
    job = _train(client, {"url": hook.url})
    assert client.get(f"/v1/jobs/{job['id']}/webhook-deliveries").get_json() == {"items": [], "next_cursor": None}
    bob = authorize(app.test_client(), make_token(sessions, "bob"))  # type: ignore[attr-defined]
    expect_error(bob.get(f"/v1/jobs/{job['id']}/webhook-deliveries"), 404, "not_found")


def _event(job: dict, type_: str = "status", **data: object) -> JobEvent:
    return JobEvent(job_id=job["id"], owner="alice", type=type_, status="running", data=dict(data))


def test_the_sink_queues_asked_for_events_and_progress_once_per_interval(client: FlaskClient, hook: Receiver,
                                                                         settings: Settings) -> None:
    watched = _train(client, {"url": hook.url, "events": ["status", "progress"]})
    silent = _train(client, None)
    broker = redis.Redis.from_url(redis_url(settings.broker_url))
    broker.delete(QUEUE_WEBHOOKS)
    sink = webhooks.WebhookSink(settings, make_celery(settings))
    sink([_event(watched, previous="queued"), _event(silent, previous="queued"), _event(watched, "sheet"),
          _event(watched, "progress", progress={"step": 1}), _event(watched, "progress", progress={"step": 2})])
    sink([_event(watched, "progress", progress={"step": 3})])
    assert broker.llen(QUEUE_WEBHOOKS) == 2  # the status event and the first progress; no sheet, no silent job


def _deliver(settings: Settings, sessions: sessionmaker[Session], job: dict, attempt: int = 1) -> tuple[str, str]:
    message_id, body = webhooks.new_message(_event(job, previous="queued", error=None))
    attempt_delivery(settings, sessions, job["id"], "status", message_id, body, attempt)
    return message_id, body


def test_a_delivery_is_signed_with_the_current_secret_and_recorded(client: FlaskClient, hook: Receiver,
                                                                   settings: Settings,
                                                                   sessions: sessionmaker[Session]) -> None:
    job = _train(client, {"url": hook.url})
    old = client.get("/v1/webhooks/secret").get_json()["secret"]
    message_id, body = _deliver(settings, sessions, job)
    (got,) = hook.wait_for(1)
    assert got.path == "/hook" and got.headers["webhook-id"] == message_id and got.body == body.encode()
    assert Webhook(old).verify(got.body, got.headers)["data"] == {"id": job["id"], "status": "running",
                                                                  "previous": "queued", "error": None}

    new = client.post("/v1/webhooks/secret/rotate").get_json()["secret"]
    _deliver(settings, sessions, job)
    after = hook.wait_for(2)[1]
    assert Webhook(new).verify(after.body, after.headers)["type"] == "status"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)
    items = client.get(f"/v1/jobs/{job['id']}/webhook-deliveries").get_json()["items"]
    assert [(i["attempt"], i["status_code"], i["error"]) for i in items] == [(1, 200, None), (1, 200, None)]
    assert items[0]["message_id"] == message_id and items[0]["event"] == "status"


def test_a_name_resolving_to_an_unlisted_loopback_address_is_refused_without_a_request(
        client: FlaskClient, unlisted: Receiver, settings: Settings, sessions: sessionmaker[Session]) -> None:
    job = _train(client, {"url": f"http://localhost:{unlisted.port}/hook"})  # localhost is listed by name
    message_id, _ = _deliver(settings, sessions, job)
    assert unlisted.requests == []
    (item,) = client.get(f"/v1/jobs/{job['id']}/webhook-deliveries").get_json()["items"]
    assert item["message_id"] == message_id and item["status_code"] is None
    assert item["error"].startswith("refused: localhost resolves to ") and "nothing was sent" in item["error"]
    with session_scope(sessions) as session:
        assert session.query(WebhookDelivery).count() == 1
