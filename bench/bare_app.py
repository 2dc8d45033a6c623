"""The baseline of figure 5: a bare Flask + SQLAlchemy app reading one job row, served by gunicorn like the API.

    gunicorn bench.bare_app:app   (the deployment's CATGAN_DATABASE_URL)
"""

from __future__ import annotations

from flask import Flask, abort, jsonify
from flask.typing import ResponseReturnValue

from core.db import make_engine, make_session_factory
from core.models import Job
from core.settings import Settings

sessions = make_session_factory(make_engine(Settings()))
app = Flask(__name__)


@app.get("/jobs/<int:job_id>")
def read_job(job_id: int) -> ResponseReturnValue:
    """One job's main columns as JSON."""
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            abort(404)
        return jsonify({"id": job.id, "type": job.type, "status": job.status, "model": job.model,
                        "params": job.params, "progress": job.progress, "metrics": job.metrics,
                        "created_at": job.created_at.isoformat()})


@app.get("/jobs")
def list_jobs() -> ResponseReturnValue:
    """The newest 50 jobs, as the API's first page."""
    with sessions() as session:
        rows = session.query(Job).order_by(Job.id.desc()).limit(50).all()
        return jsonify({"items": [{"id": j.id, "status": j.status} for j in rows]})


@app.get("/healthz")
def health() -> ResponseReturnValue:
    return jsonify({"status": "ok"})
