"""The dashboard's pages: server-rendered Jinja2, kept live by a little JavaScript (static/dashboard.js)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api import auth
from api.context import context, transaction
from api.dashboard import readers
from api.presenters import present_jobs
from api.dashboard.session import (
    auth_off,
    check_sign_in_form_token,
    load_session_caller,
    require_csrf,
    sign_in,
    sign_in_form_token,
    sign_out,
)
from core.errors import InvalidInput
from core.params import train_models
from core.services import datasets, jobs
from core.services.thumbnails import thumbnail_sheet
from core.states import JobStatus, JobType

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui/static")
OPEN_ENDPOINTS = {"dashboard.sign_in_page", "dashboard.sign_in_post", "dashboard.static"}
STATUSES, TYPES = [s.value for s in JobStatus], [t.value for t in JobType]


@bp.before_request
def _signed_in() -> ResponseReturnValue | None:
    """Pages need a signed-in session (sign-in itself and the static files do not); changes need the CSRF token."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not load_session_caller():
        return redirect(url_for("dashboard.sign_in_page", next=request.full_path.rstrip("?")))
    require_csrf()
    return None


@bp.context_processor
def _page_globals() -> dict[str, Any]:
    """Whether sign-out makes sense, and whether pages may listen to the events stream (else they poll)."""
    return {"auth_is_off": auth_off(), "events_available": "/v1/events" in _rules()}


def _rules() -> set[str]:
    return {rule.rule for rule in current_app.url_map.iter_rules()}


@bp.app_template_filter("duration")
def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600} h {seconds % 3600 // 60} m" if seconds >= 3600 else (
        f"{seconds // 60} m {seconds % 60} s" if seconds >= 60 else f"{seconds} s")


@bp.route("/ui/sign-in", methods=["GET"])
def sign_in_page() -> ResponseReturnValue:
    return render_template("dashboard/sign_in.html", form_token=sign_in_form_token(), error=None,
                           next=_local(request.args.get("next")))


@bp.route("/ui/sign-in", methods=["POST"])
def sign_in_post() -> ResponseReturnValue:
    """Check the key like a bearer key; a bad one is told on the page (401) and starts no session."""
    check_sign_in_form_token(request.form.get("form_token", ""))
    target = _local(request.form.get("next"))
    if auth_off() or sign_in(request.form.get("api_key", "")) is not None:
        return redirect(target)
    return render_template("dashboard/sign_in.html", form_token=sign_in_form_token(), next=target,
                           error="That API key is unknown or revoked. Paste a key from "
                                 "`catgan keys create --owner NAME` (or HOME/api-key of `catgan up`)."), 401


@bp.route("/ui/sign-out", methods=["POST"])
def sign_out_post() -> ResponseReturnValue:
    sign_out()
    return redirect(url_for("dashboard.sign_in_page"))


@bp.route("/", methods=["GET"])
@bp.route("/ui/jobs", methods=["GET"])
def jobs_page() -> ResponseReturnValue:
    status, kind = _filter("status", STATUSES), _filter("type", TYPES)
    with transaction() as session:
        return render_template("dashboard/jobs.html", rows=_job_rows(session, status, kind), status=status,
                               type=kind, statuses=STATUSES, types=TYPES, models=train_models(),
                               datasets=readers.dataset_rows(session, auth.scope()))


@bp.route("/ui/jobs/rows", methods=["GET"])
def job_rows() -> ResponseReturnValue:
    """The jobs table's rows alone, for the page to swap in every few seconds."""
    with transaction() as session:
        rows = _job_rows(session, _filter("status", STATUSES), _filter("type", TYPES))
        return render_template("dashboard/_job_rows.html", rows=rows)


def _job_rows(session: Session, status: str | None, kind: str | None) -> list[dict[str, Any]]:
    page, _ = jobs.list_jobs(session=session, owner=auth.scope(), status=status, type=kind, limit=100)
    return present_jobs(session, page)


@bp.route("/ui/jobs/<int:job_id>", methods=["GET"])
def job_page(job_id: int) -> ResponseReturnValue:
    with transaction() as session:
        return render_template("dashboard/job.html", **readers.job_page(session, job_id, auth.scope()))


@bp.route("/ui/compare", methods=["GET"])
def compare_page() -> ResponseReturnValue:
    with transaction() as session:
        return render_template("dashboard/compare.html",
                               **readers.compared_jobs(session, _job_ids(), auth.scope()))


@bp.route("/ui/models", methods=["GET"])
def models_page() -> ResponseReturnValue:
    with transaction() as session:
        return render_template("dashboard/models.html", models=readers.model_names(session, auth.scope()))


@bp.route("/ui/models/<name>", methods=["GET"])
def model_page(name: str) -> ResponseReturnValue:
    with transaction() as session:
        return render_template("dashboard/model.html", **readers.model_page(session, name, auth.scope()))


@bp.route("/ui/datasets", methods=["GET"])
def datasets_page() -> ResponseReturnValue:
    with transaction() as session:
        return render_template("dashboard/datasets.html", datasets=readers.dataset_rows(session, auth.scope()))


@bp.route("/ui/datasets/<int:dataset_id>/thumbnails.png", methods=["GET"])
def dataset_thumbnails(dataset_id: int) -> ResponseReturnValue:
    """A sheet of a sample of the dataset's images (made once, then served from HOME/thumbnails)."""
    with transaction() as session:
        dataset = datasets.get_dataset(session=session, dataset_id=dataset_id, owner=auth.scope())
        path = thumbnail_sheet(dataset, context().settings)
    return Response(path.read_bytes(), mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _filter(name: str, allowed: list[str]) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def _job_ids() -> list[int]:
    """The ids of `?jobs=1,2&jobs=3`."""
    raw = [part for value in request.args.getlist("jobs") for part in value.split(",") if part.strip()]
    if not all(part.strip().isdigit() and 0 < int(part) < 2**31 for part in raw):
        raise InvalidInput("jobs must be job ids, e.g. ?jobs=3,4", fields={"jobs": ["Not a list of ids."]})
    return list(dict.fromkeys(int(part) for part in raw))


def _local(target: str | None) -> str:
    """A redirect target on this site only (never another host: no open redirect)."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not (target or "/").startswith("/") or (target or "").startswith("//"):
        return "/"
    return target or "/"
