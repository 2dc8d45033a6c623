"""The servables of the local server: what models.config asks for, loaded, reloaded and unloaded.

It follows TF Serving's manager. Every poll it re-reads models.config and lists the version
folders (so a version renamed into place is picked up without a config change), then loads what
is aspired and not loaded, one version at a time in the background (TF Serving's default,
`--num_load_threads=0`), and unloads what is no longer aspired. A version goes START -> LOADING ->
AVAILABLE, or to END with an error message when its load fails; a failed load is retried only
after models.config changes. Unloading keeps availability, as TF Serving's default policy does:
the old version stays until a new aspired one is AVAILABLE (or fails).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import text_format

from core.serving_config import CONFIG_NAME
from serving.model_config import ModelEntry, parse_models_config, served_versions

log = logging.getLogger(__name__)

START, LOADING, AVAILABLE, END = "START", "LOADING", "AVAILABLE", "END"
ACTIVE = (START, LOADING, AVAILABLE)
Key = tuple[str, int]  # (model name, version)


class RequestError(Exception):
    """A request the server refuses, with the gRPC status and message TF Serving would answer."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Servable:
    """One version of one model and its life cycle."""

    name: str
    version: int
    path: Path
    state: str = START
    error_code: int = 0  # a google.rpc / tensorflow.error code; 0 is OK
    error: str = ""
    loaded: Any = None  # the tf.saved_model.load object while AVAILABLE
    signature_defs: dict[str, Any] = field(default_factory=dict)  # SignatureDef protos by key


class ModelManager:
    """Keeps the loaded versions in step with models.config and the version folders."""

    def __init__(self, root: Path, *, poll_seconds: float = 1.0, config_base_path: Path | None = None) -> None:
        self.root = root
        self.poll_seconds = poll_seconds
        self._path_map: tuple[Path, Path] | None = (
            (config_base_path, root) if config_base_path is not None and config_base_path != root else None)
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._servables: dict[Key, Servable] = {}
        self._entries: dict[str, ModelEntry] = {}
        self._aspired: dict[Key, Path] = {}
        self._config_text: str | None = None
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serving-load")
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="serving-poll", daemon=True)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def start(self) -> None:
        """Read the config once now, then keep polling in the background."""
        self.poll()
        self._poller.start()

    def stop(self) -> None:
        """Stop polling, let a running load finish, and drop every loaded model."""
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join()
        self._loader.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for servable in self._servables.values():
                if servable.state in ACTIVE:
                    self._unload(servable)

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until no version is waiting or loading (TF Serving opens its port only then)."""
        with self._settled:
            return self._settled.wait_for(
                lambda: all(s.state not in (START, LOADING) for s in self._servables.values()), timeout)

    def poll(self) -> None:
        """Re-read models.config and the version folders, then load and unload to match."""
        entries, changed = self._read_config()
        aspired = {(entry.name, version): path for entry in entries.values()
                   for version, path in served_versions(entry).items()}
        with self._lock:
            self._entries, self._aspired = entries, aspired
            self._reconcile(retry_failed=changed)

    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> Servable:
        """The AVAILABLE servable a model spec names: by label, by version, or the highest version.

        Raises:
            RequestError: INVALID_ARGUMENT for an unknown label, NOT_FOUND when nothing is available.
        """
        with self._lock:
            if label is not None:
                labels = self._entries[name].labels if name in self._entries else {}
                if label not in labels:
                    raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                                       f"Unrecognized servable version label: {label}")
                version = labels[label]
            if version is not None:
                servable = self._servables.get((name, version))
                if servable is None or servable.state != AVAILABLE:
                    raise RequestError(grpc.StatusCode.NOT_FOUND,
                                       f"Servable not found for request: Specific({name}, {version})")
            else:
                available = [s for s in self._servables.values() if s.name == name and s.state == AVAILABLE]
                if not available:
                    raise RequestError(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({name})")
                servable = max(available, key=lambda s: s.version)
            # A copy holds the loaded model, so an unload while the request runs cannot pull it away.
            return dataclasses.replace(servable)

    def status(self, name: str, version: int | None = None) -> list[Servable]:
        """Snapshots of the versions of `name` the server has seen, newest first (END ones included).

        Raises:
            RequestError: NOT_FOUND when the server has never seen that model or version.
        """
        with self._lock:
            found = sorted((s for s in self._servables.values()
                            if s.name == name and (version is None or s.version == version)),
                           key=lambda s: s.version, reverse=True)
            snapshots = [dataclasses.replace(s, loaded=None, signature_defs={}) for s in found]
        if not snapshots:
            raise RequestError(grpc.StatusCode.NOT_FOUND,
                               f"Could not find any versions of model {name}" if version is None
                               else f"Could not find version {version} of model {name}")
        return snapshots

    def _poll_forever(self) -> None:
        """Poll until stopped; a failing poll is logged and tried again, never ends the thread."""
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # an unreadable folder must not stop the server from ever reloading
                log.exception("polling %s failed", self.root)

    def _read_config(self) -> tuple[dict[str, ModelEntry], bool]:
        """The entries of models.config and whether it changed (a change also retries failed loads)."""
        try:
            text = self.config_path.read_text()
        except FileNotFoundError:
            text = ""  # no config: serve nothing, like an empty model_config_list
        if text == self._config_text:
            return self._entries, False
        self._config_text = text
        try:
            entries = parse_models_config(text, path_map=self._path_map)
        except (text_format.ParseError, ValueError) as exc:
            log.error("ignoring %s, keeping the models served now: %s", self.config_path, exc)
            return self._entries, False
        log.info("models.config: %s", ", ".join(f"{e.name} ({e.policy})" for e in entries.values()) or "empty")
        return entries, True

    def _reconcile(self, retry_failed: bool) -> None:
        """Schedule loads for aspired versions and unload the others (caller holds the lock)."""
        for key, path in self._aspired.items():
            current = self._servables.get(key)
            if current is None or (current.state == END and (not current.error or retry_failed)):
                self._schedule(key, path)
        for key, servable in list(self._servables.items()):
            aspired = self._aspired.get(key) == servable.path
            if servable.state in ACTIVE and not aspired and not self._keep_for_availability(servable):
                self._unload(servable)

    def _keep_for_availability(self, servable: Servable) -> bool:
        """True while `servable` is its model's only AVAILABLE version and a successor is loading."""
        if servable.state != AVAILABLE or servable.name not in self._entries:
            return False
        siblings = [s for s in self._servables.values() if s.name == servable.name and s is not servable]
        if any(s.state == AVAILABLE and (s.name, s.version) in self._aspired for s in siblings):
            return False
        return any(s.state in (START, LOADING) for s in siblings)

    def _schedule(self, key: Key, path: Path) -> None:
        """Register a new START servable and queue its load."""
        if self._stop.is_set():
            return  # stopping: the loader takes no new work
        servable = Servable(name=key[0], version=key[1], path=path)
        self._servables[key] = servable
        self._loader.submit(self._load, servable)

    def _unload(self, servable: Servable) -> None:
        """Drop the model; requests already holding it finish (caller holds the lock)."""
        if servable.state == AVAILABLE:
            log.info("unloading version %d of %s", servable.version, servable.name)
        servable.state, servable.loaded, servable.signature_defs = END, None, {}
        self._settled.notify_all()

    def _load(self, servable: Servable) -> None:
        """Load one version in the loader thread, unless it was un-aspired while queued."""
        with self._lock:
            if servable.state != START:
                return
            servable.state = LOADING
        log.info("loading version %d of %s from %s", servable.version, servable.name, servable.path)
        try:
            loaded, signature_defs = load_saved_model(servable.path)
        except Exception as exc:  # a broken export is that version's status (END + error), as TF Serving reports
            log.error("loading version %d of %s failed: %s", servable.version, servable.name, exc)
            with self._lock:
                if servable.state == LOADING:
                    servable.state, servable.error = END, f"{type(exc).__name__}: {exc}"
                    code = getattr(exc, "error_code", None)  # tf.errors.OpError carries its status code
                    servable.error_code = code if isinstance(code, int) and code else grpc.StatusCode.UNKNOWN.value[0]
                self._reconcile(retry_failed=False)
                self._settled.notify_all()
            return
        with self._lock:
            if servable.state == LOADING:
                servable.loaded, servable.signature_defs, servable.state = loaded, signature_defs, AVAILABLE
                log.info("version %d of %s is AVAILABLE", servable.version, servable.name)
            self._reconcile(retry_failed=False)  # an old version kept for availability can go now
            self._settled.notify_all()


def load_saved_model(path: Path) -> tuple[Any, dict[str, Any]]:
    """The SavedModel's `serve` graph loaded with TensorFlow, and its SignatureDefs as saved on disk."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    loaded = tf.saved_model.load(str(path), tags=["serve"])
    saved_model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    meta_graph = next(m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags)
    return loaded, dict(meta_graph.signature_def)
