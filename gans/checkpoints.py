"""Checkpoints a run can trust: a sha256 sidecar per save, checked before a restore, with fallback.

A checkpoint `<prefix>` is the files `<prefix>.index` and `<prefix>.data-NNNNN-of-NNNNN`. After each save,
`<prefix>.sha256` holds the sha256 of those files' bytes concatenated in sorted name order (what
`cat <prefix>.data-* <prefix>.index | sha256sum` prints), written atomically. Before a restore, a
checkpoint with a sidecar must match it; one without (saved before sidecars existed, or a crash between
the two writes) must have every tensor readable, which makes TensorFlow check each tensor's CRC32C. A
checkpoint that fails is skipped for the one before it; a restore that fails halfway is overwritten by
the next one (every existing object must match, see `restore_first_intact`).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf

from gans.config import TrainingConfig
from gans.errors import CheckpointError

log = logging.getLogger(__name__)

DIGEST_SUFFIX = ".sha256"
CHUNK = 1024 * 1024
# A truncated data file makes TensorFlow raise IndexError ("Read less bytes than requested"), a flipped
# byte DataLossError, a missing shard NotFoundError; all OpErrors otherwise, or OSError from our own reads.
UNREADABLE = (tf.errors.OpError, IndexError, OSError)


class CorruptCheckpoint(Exception):
    """One checkpoint is damaged or incomplete; the message says how."""


def checkpoint_files(prefix: str) -> list[Path]:
    """The files of checkpoint `prefix` present on disk (data shards and index), in sorted name order."""
    base = Path(prefix)
    data = base.parent.glob(glob.escape(base.name) + ".data-*")
    index = Path(f"{prefix}.index")
    return sorted([*data, *([index] if index.is_file() else [])], key=lambda p: p.name)


def checkpoint_digest(prefix: str) -> str:
    """The hex sha256 of the checkpoint's files, concatenated in sorted name order."""
    digest = hashlib.sha256()
    for path in checkpoint_files(prefix):
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):  # noqa: B023 - consumed within the iteration
                digest.update(chunk)
    return digest.hexdigest()


def write_digest(prefix: str) -> str:
    """Write `<prefix>.sha256` atomically (temp file, fsync, rename); return the digest."""
    digest = checkpoint_digest(prefix)
    _write_atomic(Path(prefix + DIGEST_SUFFIX), digest + "\n")
    return digest


def _write_atomic(target: Path, text: str) -> None:
    """Write `text` to `target` so a crash leaves the old file or the new one, never half of either."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_with_digest(manager: tf.train.CheckpointManager, number: int) -> tuple[str, str]:
    """manager.save(number), then its sidecar; return (prefix, digest).

    The sidecar of a checkpoint about to be overwritten goes first (a crash before the new one is written
    then leaves a checkpoint without sidecar, checked by reading it, not a good one with a stale digest);
    sidecars of checkpoints the manager pruned go after.
    """
    Path(manager.directory, f"ckpt-{number}{DIGEST_SUFFIX}").unlink(missing_ok=True)
    prefix = manager.save(checkpoint_number=number)
    digest = write_digest(prefix)
    for sidecar in Path(manager.directory).glob("*" + DIGEST_SUFFIX):
        if not Path(str(sidecar)[:-len(DIGEST_SUFFIX)] + ".index").exists():
            sidecar.unlink(missing_ok=True)
    return prefix, digest


def run_checkpoints(manager: tf.train.CheckpointManager) -> list[str]:
    """The run's checkpoints, newest first: the manager's (in save order), then others on disk by number.

    Save order, not step order: after a fallback, a damaged checkpoint of a higher step than the ones saved
    since must not count as the newest. Others on disk (the manager's state file lost) come last.
    """
    listed = list(reversed(manager.checkpoints))
    known = {os.path.abspath(p) for p in listed}
    found = {str(p)[:-len(".index")] for p in Path(manager.directory).glob("ckpt-*.index")}
    others = [p for p in found if os.path.abspath(p) not in known and checkpoint_step(p) is not None]
    return listed + sorted(others, key=lambda p: checkpoint_step(p) or 0, reverse=True)


def checkpoint_step(prefix: str) -> int | None:
    """The step a checkpoint prefix is numbered by (ckpt-N), else None."""
    match = re.fullmatch(r"ckpt-(\d+)", Path(prefix).name)
    return int(match.group(1)) if match else None


def check_intact(prefix: str) -> None:
    """Raise CorruptCheckpoint unless the checkpoint's files match its sidecar (or, without one, read whole)."""
    if not Path(f"{prefix}.index").is_file():
        raise CorruptCheckpoint("missing (no .index file)")
    expected = read_digest(prefix)
    if expected is not None:
        found = checkpoint_digest(prefix)
        if found != expected:
            raise CorruptCheckpoint(f"its files do not match {Path(prefix).name}{DIGEST_SUFFIX} "
                                    f"(sha256 {found[:12]}…, expected {expected[:12]}…)")
        return
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except UNREADABLE as exc:
        raise CorruptCheckpoint(f"unreadable: {_first_line(exc)}") from exc


def read_digest(prefix: str) -> str | None:
    """The digest `<prefix>.sha256` records, or None without a usable sidecar."""
    path = Path(prefix + DIGEST_SUFFIX)
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return text
    log.warning("ignoring %s: not a sha256 (%r); reading the checkpoint instead", path, text[:80])
    return None


def restore_first_intact(candidates: list[str], restore: Callable[[str], None],
                         advice: str) -> tuple[str, list[tuple[str, str]]]:
    """Restore the first intact candidate (newest first); return it and the (prefix, reason) skipped.

    `restore` must restore every existing object (assert_existing_objects_matched), so a restore that
    failed halfway leaves nothing behind once the next candidate is restored. Errors it raises other
    than unreadable files (a checkpoint of another architecture) are not a reason to fall back: they
    propagate.

    Raises:
        CheckpointError: no candidate could be restored; names each with its reason, then `advice`.
    """
    skipped: list[tuple[str, str]] = []
    for prefix in candidates:
        try:
            check_intact(prefix)
            restore(prefix)
        except CorruptCheckpoint as exc:
            reason = str(exc)
        except UNREADABLE as exc:
            reason = f"restore failed: {_first_line(exc)}"
        else:
            return prefix, skipped
        log.warning("checkpoint %s cannot be restored (%s); trying the one before it", prefix, reason)
        skipped.append((prefix, reason))
    tried = "; ".join(f"{prefix} ({reason})" for prefix, reason in skipped)
    raise CheckpointError(f"no checkpoint could be restored: {tried}. {advice}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:300]


CONFIG_FILE = "config.json"  # written beside the checkpoints, nanoGPT-style


def write_config(checkpoint_dir: Path, config: Any) -> None:
    """config.json beside the checkpoints: what made them (nanoGPT-style)."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    (checkpoint_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def read_config(checkpoint_dir: Path) -> dict[str, Any] | None:
    """The config.json a run of this folder wrote (the config as resolved and planned), or None."""
    path = checkpoint_dir / CONFIG_FILE
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
    return found if isinstance(found, dict) else None


def config_difference(checkpoint_dir: Path, config: Any) -> str:
    """'made with g_filters=64, this run has g_filters=128' for the model fields that differ."""
    path = checkpoint_dir / CONFIG_FILE
    if not path.exists():
        return ""
    saved, current = json.loads(path.read_text()), config.to_dict()
    common = {f.name for f in dataclasses.fields(TrainingConfig)}
    changed = [k for k in current if k not in common and k in saved and saved[k] != current[k]]
    if not changed:
        return ""
    return (f"it was made with {', '.join(f'{k}={saved[k]!r}' for k in changed)}; "
            f"this run has {', '.join(f'{k}={current[k]!r}' for k in changed)}")


BEST_SCORE_FILE = "score.json"  # beside the best checkpoint: which one it is and its sliced Wasserstein distance


def write_best_score(prefix: str, swd_mean: float) -> None:
    """Record the score of the best checkpoint `prefix` beside it, so a resumed run compares against it.

    A sidecar, not a variable in the checkpoint: the checkpoint's objects (and older checkpoints' restore)
    stay as they were, and the score always describes the checkpoint in the folder, whichever one a run
    resumes from. Written after the save; a crash between leaves a sidecar naming another checkpoint.
    """
    record = {"checkpoint": Path(prefix).name, "swd_mean": swd_mean}
    _write_atomic(Path(prefix).parent / BEST_SCORE_FILE, json.dumps(record) + "\n")


def read_best_score(prefix: str | None) -> float | None:
    """The recorded score of best checkpoint `prefix`, or None when unknown (no sidecar, or another's)."""
    if prefix is None:
        return None
    path = Path(prefix).parent / BEST_SCORE_FILE
    try:
        record = json.loads(path.read_text())
        if record["checkpoint"] == Path(prefix).name:
            return float(record["swd_mean"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
    log.warning("ignoring %s: it scores %s, not the best checkpoint %s", path, record["checkpoint"],
                Path(prefix).name)
    return None
