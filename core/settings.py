"""The one settings object: every factory takes it; nothing else reads the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.webhook_targets import parse_allow_list

EMBEDDED_REDIS_SOCKET = "redis.sock"


class Settings(BaseSettings):
    """Configuration read from `CATGAN_*` environment variables (see the README table)."""

    model_config = SettingsConfigDict(env_prefix="CATGAN_", extra="ignore", frozen=True)

    home: Path = Field(default=Path("./var"), description="Root of all state the service writes.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default: SQLite file in HOME.")
    redis_url: str = Field(default="", description="Broker URL; default: embedded Redis on a socket in HOME.")
    artifact_dir: Path | None = Field(default=None, description="Job artifacts; default HOME/artifacts.")
    model_repository: Path | None = Field(default=None, description="Exported models; default HOME/models.")
    checkpoint_dir: Path | None = Field(default=None, description="Checkpoints; default HOME/checkpoints.")
    dataset_dir: Path | None = Field(default=None, description="Uploaded datasets; default HOME/datasets.")
    allow_local_paths: bool = Field(default=True, description="Allow datasets from server-side folders.")
    local_path_root: Path | None = Field(default=None, description="Only folders under this root (unset: any).")
    max_folder_entries: int = Field(default=200_000, gt=0, description="Most files, folders and links a "
                                    "server-side folder may hold (its walk stops there).")
    max_folder_depth: int = Field(default=32, gt=0, description="Most levels of folders below a server-side folder.")
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0, description="Largest accepted upload.")
    max_archive_files: int = Field(default=200_000, gt=0,
                                   description="Most entries (files, folders, links) an archive may hold.")
    max_archive_bytes: int = Field(default=8 * 1024**3, gt=0, description="Most bytes an archive may unpack to.")
    max_archive_ratio: float = Field(default=200.0, gt=1, description="Most an archive, or one zip member, may "
                                     "expand (decompressed : compressed) past its first MiB (zip bombs).")
    max_archive_header_bytes: int = Field(default=1024**2, gt=0, description="Largest extended (PAX or GNU "
                                          "long-name) headers of one tar member, judged before they are read.")
    max_generate_count: int = Field(default=1_000_000, gt=0, description="Most images one generate job makes.")
    shard_size: int = Field(default=10_000, ge=100, description="Images per zip shard of a generate job.")
    encode_workers: int = Field(default=0, ge=0, description="Processes encoding images (0: the cores the model "
                                "leaves: all under tfserving, one fewer on a GPU, inline when TensorFlow fills the CPU).")
    generator_backend: Literal["local", "tfserving"] = Field(
        default="local", description="Where generate/translate jobs run the model: in the worker, or over "
        "TensorFlow Serving's gRPC API.")
    serving_address: str = Field(default="127.0.0.1:8500", description="host:port of the TF Serving gRPC API "
                                 "that generate workers call (the client's target).")
    serving_bind: str = Field(default="127.0.0.1:8500", pattern=r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):[0-9]{1,5}$",
                              description="host:port `catgan serving` listens on; its gRPC API has no auth, so "
                              "bind loopback or a private network's interface only.")
    serving_timeout_seconds: float = Field(default=60.0, gt=0, description="Deadline of one Predict call.")
    serving_retries: int = Field(default=5, ge=0, description="Retries (with backoff) on UNAVAILABLE.")
    serving_max_message_bytes: int = Field(default=256 * 1024**2, gt=0,
                                           description="gRPC message-size limit, both ways.")
    serving_model_base_path: Path | None = Field(
        default=None, description="The model repository as TF Serving sees it (models.config base paths); "
        "default: the model repository.")
    events_maxlen: int = Field(default=10_000, gt=0, description="Entries kept (approximately) in each Redis "
                               "stream of live events (one per job, one per owner); older ones are trimmed.")
    events_ttl_seconds: int = Field(default=7 * 86_400, gt=0, description="An events stream left unwritten this "
                                    "long is deleted from Redis.")
    events_heartbeat_seconds: float = Field(default=15.0, gt=0, description="How often an idle SSE stream sends "
                                            "a `: keep-alive` comment (proxies keep it open).")
    events_max_stream_seconds: float = Field(default=3_600.0, gt=0, description="Longest one SSE response lasts "
                                             "before the server ends it (clients reconnect with Last-Event-ID).")
    events_max_streams: int = Field(default=32, gt=0, description="SSE streams one API process serves at once; "
                                    "past it 503 with Retry-After.")
    webhook_allowed_hosts: str = Field(default="", description="Where job webhooks may be sent, comma-separated: "
                                       "host names (hooks.example.com), name:port, IP addresses ([::1]:8080) or "
                                       "networks (10.0.0.0/8). Empty: webhooks refused. A loopback, private or "
                                       "link-local address is used only when it (or its network) is listed.")
    webhook_max_attempts: int = Field(default=8, gt=0, description="Attempts of one webhook delivery, the first "
                                      "included, before it is given up.")
    webhook_backoff_seconds: float = Field(default=10.0, gt=0, description="Delay before a delivery's first retry; "
                                           "doubled for each further one (at most an hour).")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Connect and read timeout of one "
                                           "delivery attempt.")
    webhook_progress_interval_seconds: float = Field(default=30.0, ge=0, description="Fewest seconds between two "
                                                     "progress deliveries of one job (status events always go).")
    webhook_concurrency: int = Field(default=8, gt=0, description="Threads of a delivery worker (`catgan worker "
                                     "--queues webhooks`).")
    progress_interval_seconds: float = Field(default=2.0, gt=0, description="How often workers write progress.")
    cancel_poll_seconds: float = Field(default=1.0, gt=0, description="How often training checks for cancel.")
    broker_visibility_timeout: int = Field(default=3_600, gt=0, description="Seconds before Redis redelivers an "
                                           "unacknowledged task (a fallback: the job lease decides who runs it).")
    lease_seconds: float = Field(default=60.0, gt=0, description="How long a job's lease lasts without a heartbeat.")
    heartbeat_seconds: float = Field(default=10.0, gt=0, description="How often a running job renews its lease.")
    max_job_attempts: int = Field(default=5, gt=0, description="Claims of one job before the sweeper fails it.")
    sweep_interval_seconds: float = Field(default=30.0, gt=0, description="How often the sweeper runs.")
    queued_grace_seconds: float = Field(default=120.0, gt=0, description="A job queued longer than this without a "
                                        "broker message is sent again by the sweeper.")
    auth: Literal["on", "off"] = Field(default="on", description="Bearer API keys on every /v1 request.")
    secret_key: SecretStr | None = Field(default=None, description="Signs the dashboard's session cookies (unset: "
                                         "made once and kept in HOME/secret-key).")
    idempotency_ttl_seconds: int = Field(default=86_400, gt=0, description="How long an Idempotency-Key is kept.")
    quota_concurrent_jobs: int = Field(default=8, gt=0, description="Queued + running jobs per owner.")
    quota_generate_images: int = Field(default=1_000_000, gt=0, description="Images per generate job per owner.")
    quota_dataset_bytes: int = Field(default=50 * 1024**3, gt=0, description="Bytes of datasets per owner.")
    quota_artifact_bytes: int = Field(default=200 * 1024**3, gt=0, description="Bytes of artifacts (shards, "
                                      "sample sheets...) an owner's jobs may store before new jobs are refused.")
    rate_limit: str = Field(default="600 per minute", description="Requests per API key (flask-limiter syntax).")
    inception_weights: Path | None = Field(default=None, description="Keras InceptionV3 no-top weights file "
                                           "for FID/KID (unset: reported unavailable).")
    extra_models: tuple[tuple[str, str, str], ...] = Field(
        default=(), description='Models plugged in besides the built-in ones, as JSON `{"name": ["declaration.module", '
        '"spec.module"]}` (see gans/registry.py); the API and every worker register them at start-up.')
    log_level: str = Field(default="INFO", description="Logging level of every process.")
    log_format: Literal["auto", "text", "json"] = Field(
        default="auto", description="Log lines as text or one JSON object each; auto: text on a terminal, JSON "
        "otherwise.")
    metrics: Literal["on", "off"] = Field(default="on", description="Serve Prometheus metrics at /metrics.")
    metrics_token: SecretStr | None = Field(default=None, description="Bearer token /metrics requires (unset: "
                                            "open to whoever reaches the API's port).")
    # prometheus_client reads this variable itself, under this name: the HTTP metrics of every server process
    # are kept there and added up at a scrape
    prometheus_multiproc_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR",
                                                  description="prometheus_client's multiprocess directory.")

    @field_validator("extra_models", mode="before")
    @classmethod
    def _models_from_mapping(cls, value: Any) -> Any:
        """Take the README's {"name": [declaration module, spec module]} (a tuple keeps the settings hashable)."""
        if isinstance(value, str):  # passed as a keyword rather than read from the environment
            value = json.loads(value) if value.strip() else {}
        if isinstance(value, dict):
            return tuple((name, *modules) if isinstance(modules, (list, tuple)) else (name, modules)
                         for name, modules in value.items())
        return value

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, value: str) -> str:
        """Refuse an allow-list entry that is neither a host, host:port, address nor network (at startup)."""
        parse_allow_list(value)
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> "Settings":
        """Make every path absolute so child processes agree on them."""
        home = self.home.expanduser().resolve()
        object.__setattr__(self, "home", home)
        for name, default in (
            ("artifact_dir", "artifacts"),
            ("model_repository", "models"),
            ("checkpoint_dir", "checkpoints"),
            ("dataset_dir", "datasets"),
        ):
            value = getattr(self, name)
            object.__setattr__(self, name, (value or home / default).expanduser().resolve())
        return self

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to a SQLite file in HOME."""
        return self.database_url or f"sqlite:///{self.home / 'catgan.db'}"

    @property
    def embedded_redis_socket(self) -> Path:
        """Where the embedded Redis listens when no broker URL is configured."""
        return self.home / EMBEDDED_REDIS_SOCKET

    @property
    def broker_url(self) -> str:
        """The Celery broker URL, defaulting to the embedded Redis socket."""
        return self.redis_url or f"redis+socket://{self.embedded_redis_socket}"

    @property
    def uses_embedded_redis(self) -> bool:
        """True when no broker URL was configured."""
        return not self.redis_url

    def ensure_directories(self) -> None:
        """Create HOME and the data directories."""
        for path in (self.home, self.artifact_dir, self.model_repository, self.checkpoint_dir, self.dataset_dir):
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
