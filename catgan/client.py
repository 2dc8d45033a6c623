"""A typed HTTP client for the catgan API (used by the CLI, tests and users' scripts)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

TERMINAL = {"succeeded", "failed", "cancelled"}
Json = dict[str, Any]


class CatganApiError(Exception):
    """An error response: HTTP status, machine-readable code, message and field errors."""

    def __init__(self, status: int, code: str, message: str, fields: Json | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class CatganClient:
    """Calls the API at `base_url` (e.g. http://127.0.0.1:8000) with the API key `token` (None: auth is off)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 60.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = self.headers | kwargs.pop("headers", {})
        response = self.http.request(method, self.base_url + path, timeout=self.timeout, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "http_error", "message": response.text[:500]}
            raise CatganApiError(response.status_code, error.get("code", "error"), error.get("message", ""),
                                 error.get("fields"))
        return response

    def ready(self) -> Json:
        return self._request("GET", "/readyz").json()

    def register_folder(self, name: str, path: str | Path) -> Json:
        """Register a server-side folder of images as a dataset."""
        return self._request("POST", "/v1/datasets", json={"name": name, "path": str(path)}).json()

    def upload_dataset(self, archive: str | Path, name: str | None = None) -> Json:
        """Upload a zip or tar of images."""
        archive = Path(archive)
        with archive.open("rb") as fh:
            return self._request("POST", "/v1/datasets", files={"file": (archive.name, fh)},
                                 data={"name": name} if name else None).json()

    def train(self, dataset: int, *, model: str = "dcgan", params: Json | None = None,
              model_name: str | None = None) -> Json:
        """Queue a train job."""
        body: Json = {"type": "train", "model": model, "dataset": dataset, "params": params or {}}
        if model_name:
            body["model_name"] = model_name
        return self._request("POST", "/v1/jobs", json=body).json()

    def generate(self, model_version: int, count: int, *, seed: int | None = None, **options: Any) -> Json:
        """Queue a generate job (options: format, quality, truncation, grid, dedupe, shard_size...)."""
        body: Json = {"type": "generate", "model_version": model_version, "count": count, **options}
        if seed is not None:
            body["seed"] = seed
        return self._request("POST", "/v1/jobs", json=body).json()

    def resume(self, job_id: int) -> Json:
        return self._request("POST", f"/v1/jobs/{job_id}/resume").json()

    def job(self, job_id: int) -> Json:
        return self._request("GET", f"/v1/jobs/{job_id}").json()

    def jobs(self, **filters: Any) -> Json:
        return self._request("GET", "/v1/jobs", params=filters).json()

    def cancel(self, job_id: int) -> Json:
        return self._request("POST", f"/v1/jobs/{job_id}/cancel").json()

    def wait(self, job_id: int, *, timeout: float = 3600, poll: float = 1.0,
             on_update: Callable[[Json], None] | None = None) -> Json:
        """Poll until the job finishes; return its last state."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_update:
                on_update(job)
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
            time.sleep(poll)

    def download(self, artifact_id: int, destination: str | Path) -> Path:
        """Stream an artifact's content to `destination`."""
        return self._save(f"/v1/artifacts/{artifact_id}/content", Path(destination))

    def download_result(self, job_id: int, destination: str | Path, *, layout: str = "flat") -> Path:
        """Stream a generate/translate job's images as one zip to `destination`."""
        return self._save(f"/v1/jobs/{job_id}/result?layout={layout}", Path(destination))

    def _save(self, path: str, destination: Path) -> Path:
        with self._request("GET", path, stream=True) as response, destination.open("wb") as out:
            for chunk in response.iter_content(1024 * 1024):
                out.write(chunk)
        return destination
