"""The dashboard's JSON: `/ui/api/<path>` answers exactly as `/v1/<path>`, as the signed-in session's owner.

Pages call these routes (fetch, the upload's XMLHttpRequest, <img> and download links) instead of /v1, which stays
bearer-only: the request is matched against the /v1 routes and handed to the same view function, so validation,
services, errors and the OpenAPI-documented bodies are the API's own. Only the resource blueprints are reachable;
every state-changing request must carry the session's CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from api.dashboard.session import load_session_caller, require_csrf
from core.errors import Unauthorized

BRIDGED = ("jobs.", "datasets.", "models.", "artifacts.", "history.", "events.")  # blueprints of /v1 resources
bp = Blueprint("dashboard_api", __name__, url_prefix="/ui/api")


@bp.before_request
def _signed_in_with_csrf() -> None:
    """Only a signed-in session, and for changes only with its CSRF token."""
    if not load_session_caller():
        raise Unauthorized("sign in to the dashboard first (/ui/sign-in)", code="signed_out")
    require_csrf()


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def bridge(rest: str) -> ResponseReturnValue:
    """Answer as the /v1 route of the same path and method would."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    endpoint, arguments = adapter.match(f"/v1/{rest}", method=request.method)
    if not endpoint.startswith(BRIDGED):
        raise NotFound()
    return current_app.view_functions[endpoint](**arguments)
