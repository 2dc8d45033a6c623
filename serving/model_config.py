"""TF Serving's `models.config`: which models to serve, from where, and which of their versions.

The rules are TF Serving's: a version is an integer folder under the model's base path; the
version policy is `latest { num_versions }` (1 when the policy is absent), `all {}` or
`specific { versions }`; `version_labels` name versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2


@dataclass(frozen=True)
class ModelEntry:
    """One `config { ... }` of the model_config_list."""

    name: str
    base_path: Path
    policy: str = "latest"  # "latest", "all" or "specific"
    num_versions: int = 1  # for "latest"
    versions: frozenset[int] = frozenset()  # for "specific"
    labels: dict[str, int] = field(default_factory=dict)


def parse_models_config(text: str, *, path_map: tuple[Path, Path] | None = None) -> dict[str, ModelEntry]:
    """Model entries by name from a ModelServerConfig in protobuf text format.

    `path_map` = (prefix the config uses, where that prefix is here): a config written for a
    TF Serving container (base paths under /models) then still points at this machine's folders.

    Raises:
        ValueError: not a model_config_list, a model listed twice, or a platform other than tensorflow.
        google.protobuf.text_format.ParseError: not valid protobuf text.
    """
    config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    if config.WhichOneof("config") == "custom_model_config":
        raise ValueError("custom_model_config is not supported; use model_config_list")
    entries: dict[str, ModelEntry] = {}
    for model in config.model_config_list.config:
        if not model.name or not model.base_path:
            raise ValueError(f"every model needs a name and a base_path, got {model.name!r} at {model.base_path!r}")
        if model.name in entries:
            raise ValueError(f"Illegal to list model {model.name} multiple times in config list")
        if model.model_platform not in ("", "tensorflow"):
            raise ValueError(f"model {model.name}: unsupported model_platform {model.model_platform!r}")
        entries[model.name] = _entry(model, path_map)
    return entries


def _entry(model: model_server_config_pb2.ModelConfig, path_map: tuple[Path, Path] | None) -> ModelEntry:
    """A ModelEntry from one ModelConfig message."""
    policy = model.model_version_policy
    kind = policy.WhichOneof("policy_choice") or "latest"
    return ModelEntry(
        name=model.name,
        base_path=_local_path(Path(model.base_path), path_map),
        policy=kind,
        # TF Serving serves max(num_versions, 1): an unset or zero count still means the newest one.
        num_versions=max(policy.latest.num_versions, 1),
        versions=frozenset(policy.specific.versions),
        labels=dict(model.version_labels),
    )


def _local_path(base_path: Path, path_map: tuple[Path, Path] | None) -> Path:
    """`base_path` with the config's repository prefix replaced by the local one."""
    if path_map is None or not base_path.is_relative_to(path_map[0]):
        return base_path
    return path_map[1] / base_path.relative_to(path_map[0])


def versions_on_disk(base_path: Path) -> dict[int, Path]:
    """The version folders under a base path, as TF Serving's file-system source finds them."""
    try:
        children = list(base_path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return {}  # TF Serving logs "No versions of servable found" and keeps polling
    return {int(p.name): p for p in children if p.name.isdigit() and p.is_dir()}


def served_versions(entry: ModelEntry) -> dict[int, Path]:
    """The versions of `entry` its policy asks to serve, among those on disk."""
    found = versions_on_disk(entry.base_path)
    if entry.policy == "all":
        return found
    if entry.policy == "specific":
        return {v: p for v, p in found.items() if v in entry.versions}
    return {v: found[v] for v in sorted(found, reverse=True)[: entry.num_versions]}
