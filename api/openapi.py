"""The OpenAPI document tells every error as it is sent: `{"error": {...}}`, under the status codes it can have.

flask-smorest documents a catch-all `default` error with its own error schema, which is not our body and
hides which codes an operation really gives. Here instead each operation lists its codes: the ones every
operation of a kind shares are added by `ErrorDocs`; a view adds its own with `@blp.alt_response`
(e.g. 409 for cancelling a finished job). tests/integration/test_openapi_fuzz.py holds the API to it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api

from api.schemas import ErrorSchema
from core.params import train_models, train_schema


class ErrorDocs(BasePlugin):
    """Document the errors an operation gives by its kind: a /v1 route, a path id or name, a request body."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **_: Any) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status in _shared_errors(path or "", operation):
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = HTTPStatus(status).name  # flask-smorest's component, our schema


def _shared_errors(path: str, operation: dict) -> list[int]:
    statuses = []
    if path.startswith("/v1/"):
        statuses += [401, 429]  # every /v1 request needs an API key and counts against its rate limit
    if "{" in path:
        statuses.append(404)  # the id or name in the path names nothing (of the caller's)
    if "requestBody" in operation:
        statuses += [415, 422]  # not the content type it takes; values the schema refuses
    return statuses


class CatganApi(Api):
    """flask-smorest's Api with our error body and no catch-all `default` response."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app: Flask) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [ErrorDocs()]})

    def _register_responses(self) -> None:
        # name the error schema before flask-smorest's responses refer to it (it would be "Error" otherwise)
        self.spec.components.schema("CatganError", schema=ErrorSchema)
        super()._register_responses()


def document_train_params(api: Api) -> None:
    """Add each registered model's params schema (derived from its config: defaults, bounds, docs) to the document."""
    for model in train_models():
        schema = train_schema(model)
        api.spec.components.schema(schema.__name__, schema=schema,
                                   description=f"params of a `{model}` train job: {schema.__doc__}")
