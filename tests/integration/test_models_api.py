"""Model versions, pins and labels over HTTP, and the models.config they render for TF Serving."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from core.settings import Settings
from tests.support.models import publish_tiny_generator


def _config(settings: Settings) -> dict[str, dict]:
    """models.config parsed with TF Serving's own proto: name → base path, policy, labels."""
    assert settings.model_repository is not None
    parsed = text_format.Parse((settings.model_repository / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    return {c.name: {"base_path": c.base_path, "policy": c.model_version_policy.WhichOneof("policy_choice"),
                     "versions": list(c.model_version_policy.specific.versions), "labels": dict(c.version_labels)}
            for c in parsed.model_config_list.config}


def _put(client: FlaskClient, path: str, body: object, status: int = 200) -> dict:
    response = client.put(path, json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_labels_and_pins_drive_models_config_and_generate_routing(client: FlaskClient, settings: Settings) -> None:
    ids = [publish_tiny_generator(settings, "cats", seed=s) for s in (1, 2, 3)]
    publish_tiny_generator(settings, "dogs")
    assert _config(settings) == {
        "cats": {"base_path": str(settings.model_repository / "cats"), "policy": "all", "versions": [], "labels": {}},
        "dogs": {"base_path": str(settings.model_repository / "dogs"), "policy": "all", "versions": [], "labels": {}},
    }
    assert sorted(p.name for p in (settings.model_repository / "cats").iterdir()) == ["1", "2", "3"]

    _put(client, "/v1/models/cats/labels/stable", {"version": 1})
    model = _put(client, "/v1/models/cats/labels/canary", {"version": 3})
    assert model["labels"] == {"canary": 3, "stable": 1} and model["served_versions"] == [1, 2, 3]
    assert _config(settings)["cats"]["labels"] == {"stable": 1, "canary": 3}

    refused = _put(client, "/v1/models/cats/policy", {"versions": [3]}, status=409)
    assert refused["error"]["code"] == "label_would_dangle"
    _put(client, "/v1/models/cats/labels/stable", {"version": 3})
    pinned = _put(client, "/v1/models/cats/policy", {"versions": [3, 2]})
    assert pinned["pinned_versions"] == [2, 3] and pinned["served_versions"] == [2, 3]
    assert _config(settings)["cats"] == {"base_path": str(settings.model_repository / "cats"), "policy": "specific",
                                         "versions": [2, 3], "labels": {"stable": 3, "canary": 3}}
    assert _put(client, "/v1/models/cats/labels/old", {"version": 1}, status=409)["error"]["code"] == \
        "version_not_served"

    # generate jobs address a version by label, by number, or the newest served; the job records which
    by_label = _generate(client, {"model_name": "cats", "label": "stable"})
    assert by_label["model_version"] == ids[2]
    assert _generate(client, {"model_name": "cats", "version": 2})["model_version"] == ids[1]
    assert _generate(client, {"model_name": "cats"})["model_version"] == ids[2]
    unserved = client.post("/v1/jobs", json={"type": "generate", "model_version": ids[0], "count": 4})
    assert unserved.status_code == 409 and unserved.get_json()["error"]["code"] == "version_not_served"
    missing = client.post("/v1/jobs", json={"type": "generate", "model_name": "cats", "label": "beta", "count": 4})
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "label_not_found"

    assert client.delete("/v1/models/cats/labels/canary").status_code == 200
    _put(client, "/v1/models/cats/policy", {"versions": None})
    assert _config(settings)["cats"]["labels"] == {"stable": 3} and _config(settings)["cats"]["policy"] == "all"
    listed = client.get("/v1/models").get_json()["items"]
    assert [(m["name"], m["latest_version"], m["labels"]) for m in listed] == [("cats", 3, {"stable": 3}),
                                                                              ("dogs", 1, {})]


def _generate(client: FlaskClient, body: dict) -> dict:
    response = client.post("/v1/jobs", json={"type": "generate", "count": 4, **body})
    assert response.status_code == 202, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("method,path,body,status,code", [
    ("put", "/v1/models/nope/labels/stable", {"version": 1}, 404, "not_found"),
    ("put", "/v1/models/cats/labels/Stable!", {"version": 1}, 422, "validation_error"),
    ("put", "/v1/models/cats/labels/stable", {"version": 9}, 422, "validation_error"),
    ("put", "/v1/models/cats/labels/stable", {"version": "1"}, 422, "validation_error"),
    ("put", "/v1/models/cats/labels/stable", {}, 422, "validation_error"),
    ("delete", "/v1/models/cats/labels/stable", None, 404, "not_found"),
    ("put", "/v1/models/cats/policy", {"versions": [7]}, 422, "validation_error"),
    ("put", "/v1/models/cats/policy", {"versions": []}, 422, "validation_error"),
    ("put", "/v1/models/cats/policy", {"pinned": [1]}, 422, "validation_error"),
])
def test_bad_model_requests(client: FlaskClient, settings: Settings, method: str, path: str, body: object,
                            status: int, code: str) -> None:
    publish_tiny_generator(settings, "cats")
    before = (settings.model_repository / "models.config").read_bytes()
    response = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert (settings.model_repository / "models.config").read_bytes() == before
