"""The typed client against a real local HTTP server: retries, Idempotency-Key, uploads, SSE, watch's fallback."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from catgan.client import CatganApiError, CatganClient, CatganConnectionError, RetryPolicy
from catgan.sse import SSEParser, parse_stream


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """Answers per path, in order (the last one repeats); each answer is a function of the handler."""

    answers: dict[str, list[Callable[[BaseHTTPRequestHandler], None]]]
    seen: list[Seen] = field(default_factory=list)


def reply(status: int, body: object = None, **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        handler.send_response(status)
        for name, value in ({"Content-Type": "application/json", "Content-Length": str(len(data))} | {
                k.replace("_", "-"): v for k, v in headers.items()}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    return answer


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without answering (a reset or a crashed proxy)."""
    handler.close_connection = True
    handler.connection.close()


def stream(text: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """An event stream of `text`, then the connection closes (mid-event if the text ends there)."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for piece in (text[i:i + 7] for i in range(0, len(text), 7)):  # in small pieces, split anywhere
            handler.wfile.write(piece.encode())
            handler.wfile.flush()
        handler.close_connection = True
    return answer


def error(status: int, code: str, **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    return reply(status, {"error": {"code": code, "message": f"{code} here"}}, **headers)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script({})

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            script.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            answers = script.answers[path]
            (answers.pop(0) if len(answers) > 1 else answers[0])(self)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def client_for(url: str, delays: list[float], attempts: int = 4) -> CatganClient:
    return CatganClient(url, token="tok", retry=RetryPolicy(attempts=attempts, backoff=0.01), sleep=delays.append)


def test_a_post_is_retried_on_503_and_429_with_retry_after_under_one_idempotency_key(server) -> None:
    url, script = server
    script.answers["/v1/jobs"] = [error(503, "broker_unavailable", Retry_After="2"),
                                  error(429, "rate_limited", Retry_After="1"), reply(202, {"id": 9, "status": "queued"})]
    delays: list[float] = []
    job = client_for(url, delays).train(3, params={"epochs": 1})
    assert job == {"id": 9, "status": "queued"}
    assert delays == [2.0, 1.0]  # Retry-After honoured
    keys = {s.headers["Idempotency-Key"] for s in script.seen}
    assert len(script.seen) == 3 and len(keys) == 1 and uuid.UUID(keys.pop()).version == 4
    assert all(s.headers["Authorization"] == "Bearer tok" for s in script.seen)
    assert json.loads(script.seen[0].body) == {"type": "train", "model": "dcgan", "dataset": 3,
                                               "params": {"epochs": 1}}


def test_each_post_gets_a_fresh_key_and_a_quota_429_is_not_retried(server) -> None:
    url, script = server
    script.answers["/v1/jobs"] = [reply(202, {"id": 1}), reply(202, {"id": 2}), error(429, "quota_exceeded")]
    delays: list[float] = []
    client = client_for(url, delays)
    client.generate(model_name="cats", label="stable", count=5)
    client.generate(4, 5, seed=1)
    with pytest.raises(CatganApiError) as caught:
        client.generate(4, 5)
    assert (caught.value.status, caught.value.code) == (429, "quota_exceeded")
    assert delays == [] and len(script.seen) == 3  # no Retry-After: a quota does not clear in seconds
    assert len({s.headers["Idempotency-Key"] for s in script.seen}) == 3
    assert json.loads(script.seen[0].body) == {"type": "generate", "model_name": "cats", "label": "stable",
                                               "count": 5}


def test_retries_are_bounded_with_growing_backoff(server) -> None:
    url, script = server
    script.answers["/v1/jobs/5"] = [error(503, "unavailable")]
    delays: list[float] = []
    with pytest.raises(CatganApiError) as caught:
        client_for(url, delays, attempts=4).job(5)
    assert caught.value.status == 503 and len(script.seen) == 4
    assert delays == [0.01, 0.02, 0.04]


def test_a_dropped_connection_is_retried_for_a_get_but_not_for_resume(server) -> None:
    url, script = server
    script.answers["/v1/jobs/5"] = [hang_up, reply(200, {"id": 5, "status": "running"})]
    script.answers["/v1/jobs/5/resume"] = [hang_up, reply(202, {"id": 5})]
    delays: list[float] = []
    client = client_for(url, delays)
    assert client.job(5)["status"] == "running" and len(delays) == 1
    with pytest.raises(CatganConnectionError):
        client.resume(5)  # not deduplicated by the server: a lost answer must not queue it twice
    assert [s.path for s in script.seen].count("/v1/jobs/5/resume") == 1


def test_an_upload_streams_its_file_and_resends_all_of_it_on_retry(server, tmp_path: Path) -> None:
    url, script = server
    archive = tmp_path / "cats.zip"
    archive.write_bytes(b"PK" + bytes(range(256)) * 4000)
    script.answers["/v1/datasets"] = [error(503, "busy", Retry_After="0"), reply(201, {"id": 4, "name": "mine"})]
    delays: list[float] = []
    assert client_for(url, delays).upload_dataset(archive, name="mine")["id"] == 4
    first, second = script.seen
    assert first.body == second.body and archive.read_bytes() in first.body
    assert int(first.headers["Content-Length"]) == len(first.body)
    assert first.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="name"\r\n\r\nmine\r\n' in first.body and b'filename="cats.zip"' in first.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_the_faces_option_is_form_fields_of_an_upload_and_json_of_a_folder(server, tmp_path: Path) -> None:
    url, script = server
    archive = tmp_path / "photos.zip"
    archive.write_bytes(b"PK" + bytes(64))
    script.answers["/v1/datasets"] = [reply(201, {"id": 5})]
    client = client_for(url, [])
    client.upload_dataset(archive, faces="cat", face_size=32)
    client.register_folder("faces", "/srv/photos", faces="cat", face_size=128)
    client.register_folder("plain", "/srv/photos")
    upload, folder, plain = script.seen
    assert b'name="faces"\r\n\r\ncat\r\n' in upload.body and b'name="face_size"\r\n\r\n32\r\n' in upload.body
    assert json.loads(folder.body) == {"name": "faces", "path": "/srv/photos", "faces": "cat", "face_size": 128}
    assert json.loads(plain.body) == {"name": "plain", "path": "/srv/photos"}  # the service's defaults


def test_api_errors_carry_status_code_message_and_fields(server) -> None:
    url, script = server
    script.answers["/v1/jobs"] = [reply(422, {"error": {"code": "validation_error", "message": "bad",
                                                        "fields": {"dataset": ["Must be an id."]}}})]
    with pytest.raises(CatganApiError) as caught:
        client_for(url, []).train(0)
    assert (caught.value.status, caught.value.code, caught.value.message) == (422, "validation_error", "bad")
    assert caught.value.fields == {"dataset": ["Must be an id."]}


def test_pages_are_followed_by_cursor(server) -> None:
    url, script = server
    script.answers["/v1/jobs/3/artifacts"] = [reply(200, {"items": [{"id": 1}, {"id": 2}], "next_cursor": "c2"}),
                                              reply(200, {"items": [{"id": 3}], "next_cursor": None})]
    assert [a["id"] for a in client_for(url, []).iter_artifacts(3, kind="sample_grid", page_size=2)] == [1, 2, 3]
    assert [s.path for s in script.seen] == ["/v1/jobs/3/artifacts?kind=sample_grid&limit=2",
                                             "/v1/jobs/3/artifacts?kind=sample_grid&limit=2&cursor=c2"]


FIRST = ('id: 1-0\nevent: status\ndata: {"id": 7, "status": "queued", "previous": null}\n\n'
         ': keep-alive\n\n'
         'id: 2-0\r\nevent: progress\r\ndata: {"id": 7, "status": "running",\r\ndata:  "progress": {"step": 3}}\r\n\r\n'
         'id: 3-0\nevent: status\ndata: {"id": 7, "sta')  # the connection drops mid-event
SECOND = ('id: 3-0\nevent: status\ndata: {"id": 7, "status": "running", "previous": "queued"}\n\n'
          'id: 4-0\nevent: status\ndata: {"id": 7, "status": "succeeded", "previous": "running"}\n\n')


def test_events_resume_after_a_drop_with_last_event_id_without_loss_or_repeats(server) -> None:
    url, script = server
    script.answers["/v1/jobs/7/events"] = [stream(FIRST), stream(SECOND)]
    delays: list[float] = []
    events = list(client_for(url, delays).events(7))
    assert [(e.id, e.event, e.payload["status"]) for e in events] == [
        ("1-0", "status", "queued"), ("2-0", "progress", "running"), ("3-0", "status", "running"),
        ("4-0", "status", "succeeded")]
    assert events[1].payload["progress"] == {"step": 3}  # two data lines joined by a newline
    assert [s.headers.get("Last-Event-ID") for s in script.seen] == [None, "2-0"]
    assert all(s.headers["Accept"] == "text/event-stream" for s in script.seen) and len(delays) == 1


def test_watch_falls_back_to_polling_when_there_is_no_events_endpoint(server) -> None:
    url, script = server
    sheet = {"id": 11, "kind": "sample_grid", "name": "samples-step0000050.png"}
    script.answers["/v1/jobs/7/events"] = [error(404, "not_found")]
    script.answers["/v1/jobs/7"] = [
        reply(200, {"id": 7, "status": "running", "progress": {"step": 1}, "artifacts": []}),
        reply(200, {"id": 7, "status": "succeeded", "progress": {"step": 5}, "artifacts": [sheet], "error": None})]
    events = list(client_for(url, []).watch(7, poll=0.01))
    assert [(e.event, e.payload["status"]) for e in events] == [
        ("status", "running"), ("progress", "running"), ("progress", "succeeded"), ("sheet", "succeeded"),
        ("status", "succeeded")]
    assert events[-1].payload == {"id": 7, "status": "succeeded", "previous": "running", "error": None}
    assert events[3].payload["artifact"]["id"] == 11


def test_the_parser_follows_the_event_stream_rules() -> None:
    chunks = [b"retry: 250\r", b"\n: comment\n", b"data: a\n", b"data:b\n\n", b"event: x\nid: 9\ndata: \xc3",
              b"\xa9\n\n", b"id: 10\n\n", b"data: last\n\n", b"data: unfinished\n"]
    parser = SSEParser()
    events = list(parse_stream(chunks, parser))
    assert [(e.event, e.data, e.id) for e in events] == [("message", "a\nb", None), ("x", "\u00e9", "9"),
                                                         ("message", "last", "10")]
    assert parser.retry_ms == 250 and parser.last_event_id == "10"
