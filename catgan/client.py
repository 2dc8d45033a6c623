"""The typed HTTP client of the catgan API: what the `catgan` CLI uses, and what your scripts can use.

    from catgan.client import CatganClient

    client = CatganClient("http://127.0.0.1:8000", token="cg_...")
    dataset = client.upload_folder("photos/cats", name="cats")        # zipped on the fly, streamed up
    job = client.train(dataset["id"], model="dcgan", params={"epochs": 5}, model_name="my-cats")
    for event in client.watch(job["id"]):                             # live events, or polling as a fallback
        print(event.event, event.payload.get("progress"))
    done = client.job(job["id"])
    gen = client.generate(model_name="my-cats", label="stable", count=100, seed=1)
    client.wait(gen["id"])
    client.download_result(gen["id"], "cats.zip")

Safe to retry: every POST carries a fresh `Idempotency-Key` (uuid4), reused by the client's own retries, so a
job or dataset is made once however often the request is sent. 503 and 429-with-Retry-After answers are
retried (bounded, honouring Retry-After, else exponential backoff); connection errors are retried for requests
that are safe to repeat (GET, PUT, DELETE and the POSTs the server deduplicates). An error answer raises
`CatganApiError` (status, code, message, fields); an unreachable service raises `CatganConnectionError`.
Return values are TypedDicts (catgan.client_types): plain dicts, so fields a newer server adds pass through.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import requests

from catgan.client_errors import (
    TERMINAL,
    CatganApiError,
    CatganConnectionError,
    RetryPolicy,
    error_of,
    is_safe,
)
from catgan.client_types import (
    Artifact,
    Checkpoint,
    Dataset,
    Job,
    Json,
    ModelInfo,
    ModelVersion,
    Page,
    Readiness,
)
from catgan.sse import Event
from catgan.uploads import MultipartBody, zipped_folder

__all__ = ["TERMINAL", "CatganApiError", "CatganClient", "CatganConnectionError", "Event", "Json", "RetryPolicy"]

class CatganClient:
    """Calls the API at `base_url` (e.g. http://127.0.0.1:8000) with the API key `token` (None: auth is off)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 60.0,
                 session: requests.Session | None = None, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    # -- transport -------------------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, body: Callable[[], Json] | None = None,
                 check: bool = True, **kwargs: Any) -> requests.Response:
        """Send with retries; `body()` makes fresh request arguments per attempt (an upload reopens its file)."""
        headers = self.headers | kwargs.pop("headers", {})
        if method == "POST":
            headers.setdefault("Idempotency-Key", str(uuid.uuid4()))  # one key for every attempt of this call
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            extra = body() if body else {}
            try:
                response = self.http.request(method, self.base_url + path, timeout=self.timeout,
                                             headers=headers | extra.pop("headers", {}), **kwargs, **extra)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last or not is_safe(method, path):
                    raise CatganConnectionError(f"cannot reach {self.base_url}: {_reason(exc)}") from exc
                self.sleep(self.retry.delay(attempt))
                continue
            retry_after = response.headers.get("Retry-After")
            if not last and (response.status_code == 503 or (response.status_code == 429 and retry_after)):
                response.close()
                self.sleep(self.retry.delay(attempt, retry_after))
                continue
            if check and response.status_code >= 400:
                raise error_of(response)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _pages(self, path: str, params: Json) -> Iterator[Page[Any]]:
        """Every page of a cursor-paged listing, following next_cursor."""
        cursor = None
        while True:
            page = self._json("GET", path, params=params | ({"cursor": cursor} if cursor else {}))
            yield page
            if (cursor := page.get("next_cursor")) is None:
                return

    def _save(self, path: str, destination: Path, params: Json | None = None) -> Path:
        """Stream a download to `destination` through a temporary name, so a broken transfer leaves no file."""
        partial = destination.with_name(destination.name + ".part")
        with self._request("GET", path, params=params, stream=True) as response, partial.open("wb") as out:
            for chunk in response.iter_content(1024 * 1024):
                out.write(chunk)
        partial.replace(destination)
        return destination

    # -- health --------------------------------------------------------------------------------------------------

    def ready(self) -> Readiness:
        """Whether the database and the broker answer ({"status": "ready"|"not ready", "checks": {...}})."""
        response = self._request("GET", "/readyz", check=False)
        if response.status_code not in (200, 503):
            raise error_of(response)
        return cast(Readiness, response.json())

    # -- datasets ------------------------------------------------------------------------------------------------

    def register_folder(self, name: str, path: str | Path, *, faces: str | None = None,
                        face_size: int | None = None) -> Dataset:
        """Register a folder of images on the server's disk as a dataset (admin keys only).

        With faces="cat" the dataset is the cat faces found in its photos, cropped to face_size px (server default 64).
        """
        body: Json = {"name": name, "path": str(path), **_face_fields(faces, face_size)}
        return self._json("POST", "/v1/datasets", json=body)

    def upload_dataset(self, archive: str | Path, name: str | None = None, *, faces: str | None = None,
                       face_size: int | None = None) -> Dataset:
        """Upload a zip or tar of images, streamed from disk (re-read from the start on a retry).

        With faces="cat" the dataset is the cat faces found in the photos, cropped to face_size px.
        """
        archive = Path(archive)
        form = {k: str(v) for k, v in _face_fields(faces, face_size).items()}  # multipart fields are text
        fields, boundary = ({"name": name} if name else {}) | form, f"catgan-{uuid.uuid4().hex}"
        files: list[Any] = []

        def body() -> Json:
            while files:
                files.pop().close()
            files.append(archive.open("rb"))
            multipart = MultipartBody(files[-1], archive.name, fields, boundary)
            return {"data": multipart, "headers": {"Content-Type": multipart.content_type}}

        try:
            return self._json("POST", "/v1/datasets", body=body)
        finally:
            for fh in files:
                fh.close()

    def upload_folder(self, folder: str | Path, name: str | None = None, *, faces: str | None = None,
                      face_size: int | None = None) -> Dataset:
        """Zip a local folder of images into a temporary file and upload it (the server need not see the folder)."""
        folder = Path(folder)
        with zipped_folder(folder) as archive:
            return self.upload_dataset(archive, name or folder.resolve().name, faces=faces, face_size=face_size)

    def datasets(self) -> list[Dataset]:
        """Every dataset the key may see, newest first."""
        return self._json("GET", "/v1/datasets")["items"]

    def dataset(self, dataset_id: int) -> Dataset:
        return self._json("GET", f"/v1/datasets/{dataset_id}")

    # -- jobs ----------------------------------------------------------------------------------------------------

    def submit(self, body: Json) -> Job:
        """POST any job body (see api/schemas/requests.py JobCreateSchema) as it is."""
        return self._json("POST", "/v1/jobs", json=body)

    def train(self, dataset: int, *, model: str = "dcgan", params: Json | None = None,
              model_name: str | None = None, resume_from: int | None = None) -> Job:
        """Queue a train job (resume_from: a checkpoint id whose job's params it inherits)."""
        body: Json = {"type": "train", "model": model, "dataset": dataset, "params": params or {}}
        body |= {k: v for k, v in {"model_name": model_name, "resume_from": resume_from}.items() if v is not None}
        return self.submit(body)

    def generate(self, model_version: int | None = None, count: int | None = None, *, model_name: str | None = None,
                 version: int | None = None, label: str | None = None, seed: int | None = None,
                 class_counts: dict[str, int] | None = None, **options: Any) -> Job:
        """Queue a generate job from a version id, or a model name (+ version or label); options: format, quality,
        truncation, grid, dedupe, dedupe_distance, shard_size."""
        body: Json = {"type": "generate", **_source(model_version, model_name, version, label), **options}
        body |= {k: v for k, v in {"count": count, "seed": seed, "class_counts": class_counts}.items() if v is not None}
        return self.submit(body)

    def translate(self, dataset: int, *, model_version: int | None = None, model_name: str | None = None,
                  version: int | None = None, label: str | None = None, from_photos: bool = False,
                  **options: Any) -> Job:
        """Queue a translate (pix2pix) job over a dataset's images."""
        body: Json = {"type": "translate", "dataset": dataset, **_source(model_version, model_name, version, label),
                      **options}
        return self.submit(body | ({"from_photos": True} if from_photos else {}))

    def job(self, job_id: int) -> Job:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def jobs(self, **filters: Any) -> Page[Job]:
        """One page of jobs, newest first (filters: status, type, limit, cursor)."""
        return self._json("GET", "/v1/jobs", params={k: v for k, v in filters.items() if v is not None})

    def job_pages(self, *, status: str | None = None, type: str | None = None,
                  page_size: int = 50) -> Iterator[Page[Job]]:
        """Every page of jobs matching the filters, newest first."""
        params = {k: v for k, v in {"status": status, "type": type, "limit": page_size}.items() if v is not None}
        return self._pages("/v1/jobs", params)

    def iter_jobs(self, *, status: str | None = None, type: str | None = None, page_size: int = 50) -> Iterator[Job]:
        """Every job matching the filters, newest first, fetched a page at a time."""
        for page in self.job_pages(status=status, type=type, page_size=page_size):
            yield from page["items"]

    def cancel(self, job_id: int) -> Job:
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def resume(self, job_id: int) -> Job:
        """Queue a failed or cancelled job again (training continues from its last checkpoint)."""
        return self._json("POST", f"/v1/jobs/{job_id}/resume")

    def artifacts(self, job_id: int, *, kind: str | None = None, limit: int = 100,
                  cursor: str | None = None) -> Page[Artifact]:
        """One page of a job's artifacts, oldest first."""
        params = {k: v for k, v in {"kind": kind, "limit": limit, "cursor": cursor}.items() if v is not None}
        return self._json("GET", f"/v1/jobs/{job_id}/artifacts", params=params)

    def iter_artifacts(self, job_id: int, *, kind: str | None = None, page_size: int = 100) -> Iterator[Artifact]:
        params = {k: v for k, v in {"kind": kind, "limit": page_size}.items() if v is not None}
        for page in self._pages(f"/v1/jobs/{job_id}/artifacts", params):
            yield from page["items"]

    def checkpoints(self, job_id: int, *, limit: int = 100, cursor: str | None = None) -> Page[Checkpoint]:
        """One page of a train job's checkpoints, oldest first."""
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        return self._json("GET", f"/v1/jobs/{job_id}/checkpoints", params=params)

    def iter_checkpoints(self, job_id: int, *, page_size: int = 100) -> Iterator[Checkpoint]:
        for page in self._pages(f"/v1/jobs/{job_id}/checkpoints", {"limit": page_size}):
            yield from page["items"]

    def wait(self, job_id: int, *, timeout: float = 3600, poll: float = 1.0,
             on_update: Callable[[Job], None] | None = None) -> Job:
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

    def events(self, job_id: int | None = None, last_event_id: str | None = None, **options: Any) -> Iterator[Event]:
        """Live events of one job (or of all the caller's jobs), resumed with Last-Event-ID after a drop."""
        from catgan.watching import stream_events

        return stream_events(self, job_id, last_event_id, **options)

    def watch(self, job_id: int, *, poll: float = 2.0, **options: Any) -> Iterator[Event]:
        """A job's events until it ends; from GET /v1/jobs/{id} every `poll` s when the events endpoint is missing."""
        from catgan.watching import watch_job

        return watch_job(self, job_id, poll=poll, **options)

    # -- files ---------------------------------------------------------------------------------------------------

    def artifact(self, artifact_id: int) -> Artifact:
        return self._json("GET", f"/v1/artifacts/{artifact_id}")

    def artifact_url(self, artifact_id: int) -> str:
        """Where an artifact's content downloads from (send the bearer key)."""
        return f"{self.base_url}/v1/artifacts/{artifact_id}/content"

    def download(self, artifact_id: int, destination: str | Path) -> Path:
        """Stream an artifact's content to `destination`."""
        return self._save(f"/v1/artifacts/{artifact_id}/content", Path(destination))

    def download_result(self, job_id: int, destination: str | Path, *, layout: str = "flat") -> Path:
        """Stream a generate/translate job's images as one zip to `destination` (layout flat or shards)."""
        return self._save(f"/v1/jobs/{job_id}/result", Path(destination), params={"layout": layout})

    # -- models --------------------------------------------------------------------------------------------------

    def models(self) -> list[ModelInfo]:
        """Every model name with its versions, served versions and labels."""
        return self._json("GET", "/v1/models")["items"]

    def model(self, name: str) -> ModelInfo:
        return self._json("GET", f"/v1/models/{_segment(name)}")

    def model_version(self, model_version_id: int) -> ModelVersion:
        return self._json("GET", f"/v1/model-versions/{model_version_id}")

    def set_label(self, name: str, label: str, version: int) -> ModelInfo:
        """Point `label` (e.g. stable, canary) at a served version of model `name`."""
        return self._json("PUT", f"/v1/models/{_segment(name)}/labels/{_segment(label)}", json={"version": version})

    def remove_label(self, name: str, label: str) -> ModelInfo:
        return self._json("DELETE", f"/v1/models/{_segment(name)}/labels/{_segment(label)}")

    def set_policy(self, name: str, versions: list[int] | None) -> ModelInfo:
        """Serve only `versions` of model `name` (None: serve every version again)."""
        return self._json("PUT", f"/v1/models/{_segment(name)}/policy", json={"versions": versions})


def _reason(exc: Exception) -> str:
    """The short cause of a connection failure (\"Connection refused\"), not urllib3's whole chain."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    return found.group(1).strip() if found else type(exc).__name__


def _source(model_version: int | None, model_name: str | None, version: int | None, label: str | None) -> Json:
    """How a generate/translate body names its model."""
    fields = {"model_version": model_version, "model_name": model_name, "version": version, "label": label}
    return {k: v for k, v in fields.items() if v is not None}


def _face_fields(faces: str | None, face_size: int | None) -> Json:
    """A new dataset's faces option, as the API names it (left out when not given: the server's defaults)."""
    fields = {"faces": faces, "face_size": face_size}
    return {k: v for k, v in fields.items() if v is not None}


def _segment(value: str) -> str:
    """A path segment, percent-encoded (a name never escapes its segment of the URL)."""
    from urllib.parse import quote

    return quote(value, safe="")
