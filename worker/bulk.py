"""Bulk image jobs in constant memory: model batches → encoding pool → zip shards, resumable by shard.

The model draws the next block while earlier blocks are encoded in other processes; at most a few
blocks are in flight, so memory does not grow with the job. Each finished shard becomes an artifact
at once (downloadable while the job runs); a job that starts again skips the shards it has.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import LeaseLost
from core.models import Artifact
from core.records import BulkProgress
from core.services import artifacts
from core.services.artifacts import SHARD_KIND
from core.storage import sha256_file
from worker.context import WorkerContext
from worker.dedupe import NearDuplicateFilter
from worker.encoding import ImageFormat, encode_batch, encoding_pool, usable_cores
from worker.reporting import JobReporter
from worker.shards import Shard, ShardWriter, plan_shards, read_manifest

log = logging.getLogger(__name__)


@dataclass
class Block:
    """Images of consecutive indices from one model call, with their names and manifest fields."""

    images: np.ndarray  # (N, H, W, C) uint8
    names: list[str]  # archive member names without extension
    provenance: list[dict[str, Any]]  # manifest fields per image (index, class, source...)


# (start, stop) → those images; the span lies inside one aligned block of `block_size` indices, and a
# source runs the model on that whole block, so an image's bytes never depend on how a job was split
# (batch shape changes float rounding in the convolutions)
BlockSource = Callable[[int, int], Block]


@dataclass(frozen=True)
class BulkOptions:
    count: int
    shard_size: int
    block_size: int
    fmt: ImageFormat
    dedupe_distance: int | None  # None: keep every image
    encode_workers: int
    common: dict[str, Any] = field(default_factory=dict)  # manifest fields shared by every image


@dataclass
class BulkOutcome:
    interrupted: bool = False
    images: int = 0  # written
    dropped: int = 0  # near-duplicates left out
    shards: int = 0
    processed: int = 0  # indices done, written or dropped


def run_bulk(ctx: WorkerContext, job_id: int, source: BlockSource, options: BulkOptions,
             reporter: JobReporter) -> BulkOutcome:
    """Write every shard the job does not have yet; stop early (interrupted) on cancel or shutdown."""
    return BulkRun(ctx, job_id, source, options, reporter).run()


class BulkRun:
    """One pass over a job's missing shards."""

    def __init__(self, ctx: WorkerContext, job_id: int, source: BlockSource, options: BulkOptions,
                 reporter: JobReporter) -> None:
        self.ctx, self.job_id, self.source, self.options, self.reporter = ctx, job_id, source, options, reporter
        self.plan = plan_shards(options.count, options.shard_size)
        self.workers = options.encode_workers or usable_cores()
        self.dedupe = NearDuplicateFilter(options.dedupe_distance) if options.dedupe_distance is not None else None
        self.outcome = BulkOutcome()
        self.started, self.processed_before = time.monotonic(), 0  # reset once finished shards are counted

    def run(self) -> BulkOutcome:
        done = finished_shards(self.ctx, self.job_id)
        for shard in self.plan:
            if shard.index in done:
                self._count_finished(done[shard.index])
        self.started, self.processed_before = time.monotonic(), self.outcome.processed  # rate of this pass only
        with encoding_pool(self.workers) as pool:
            for shard in (s for s in self.plan if s.index not in done):
                writer = ShardWriter(artifacts.job_artifact_dir(self.ctx.settings, self.job_id) / shard.file_name)
                if not self._fill(shard, writer, pool):
                    writer.abort()
                    self.outcome.interrupted = True
                    return self.outcome
                self._publish(shard, writer)
                self.reporter.progress(self.progress(), force=True)
        return self.outcome

    def _fill(self, shard: Shard, writer: ShardWriter, pool: Executor) -> bool:
        """Encode and write the shard's images in index order; False if interrupted."""
        in_flight: deque[tuple[Block, Future]] = deque()
        for start, stop in aligned_spans(shard.start, shard.stop, self.options.block_size):
            if self.reporter.interrupted():
                return False
            block = self.source(start, stop)
            hashing = self.dedupe is not None
            in_flight.append((block, pool.submit(encode_batch, block.images, self.options.fmt, hashing)))
            while len(in_flight) > self.workers:  # enough to keep every encoder busy, no more
                self._write(writer, *in_flight.popleft())
            self.reporter.progress(self.progress())
        while in_flight:
            self._write(writer, *in_flight.popleft())
        return True

    def _write(self, writer: ShardWriter, block: Block, future: Future) -> None:
        encoded, hashes = future.result()
        keep = self.dedupe.admit(hashes) if self.dedupe is not None and hashes is not None else [True] * len(encoded)
        for i, data in enumerate(encoded):
            self.outcome.processed += 1
            if not keep[i]:
                self.outcome.dropped += 1
                continue
            extra = {"phash": f"{hashes[i]:016x}"} if hashes is not None else {}
            name = f"{block.names[i]}.{self.options.fmt.extension}"
            writer.add(name, data, {**self.options.common, **block.provenance[i], **extra})
            self.outcome.images += 1

    def _count_finished(self, artifact: Artifact) -> None:
        """Take a shard written by an earlier attempt into the counts (and the dedupe state)."""
        self.outcome.shards += 1
        self.outcome.images += int(artifact.info["images"])
        self.outcome.dropped += int(artifact.info.get("dropped", 0))
        self.outcome.processed += int(artifact.info["stop"]) - int(artifact.info["start"])
        if self.dedupe is not None:
            for line in read_manifest(artifacts.artifact_path(artifact, self.ctx.settings)):
                self.dedupe.remember(int(line["phash"], 16))

    def _publish(self, shard: Shard, writer: ShardWriter) -> None:
        """Rename the shard into place and record it in one transaction that holds the job's lease.

        A worker that lost the lease (another one runs the job now) publishes neither the file nor its row.
        """
        def place_and_record(session: Session) -> None:
            writer.close()  # after the lease check; a retried transaction finds it closed
            artifacts.add_artifact_file(
                session=session, settings=self.ctx.settings, job_id=self.job_id, kind=SHARD_KIND, path=writer.path,
                content_type="application/zip",
                info={"shard": shard.index, "start": shard.start, "stop": shard.stop, "images": writer.count,
                      "dropped": (shard.stop - shard.start) - writer.count})
        try:
            self.reporter.write(place_and_record, f"shard {shard.index}")
        except LeaseLost:
            writer.abort()
            raise
        self.outcome.shards += 1

    def progress(self) -> BulkProgress:
        done, count = self.outcome.processed, self.options.count
        rate = (done - self.processed_before) / max(time.monotonic() - self.started, 1e-9)
        return BulkProgress(step=done, total_steps=count, images_done=self.outcome.images,
                            duplicates_dropped=self.outcome.dropped, shards_done=self.outcome.shards,
                            shards_total=len(self.plan), images_per_second=round(rate, 2),
                            eta_seconds=round((count - done) / rate, 1) if rate else None)


def aligned_spans(start: int, stop: int, block: int) -> list[tuple[int, int]]:
    """[start, stop) cut at multiples of `block`: each span lies inside one aligned model block."""
    edges = [start, *range((start // block + 1) * block, stop, block), stop]
    return list(zip(edges[:-1], edges[1:], strict=True))


def finished_shards(ctx: WorkerContext, job_id: int) -> dict[int, Artifact]:
    """The job's shards already written and recorded, by shard index, whose files still have the recorded sha256.

    A shard whose file is missing, truncated or altered loses its row and its file, so it is written again.
    """
    shards: dict[int, Artifact] = {}
    damaged: list[Path] = []
    with session_scope(ctx.sessions) as session:
        for artifact in session.scalars(select(Artifact).where(Artifact.job_id == job_id,
                                                               Artifact.kind == SHARD_KIND)):
            path = artifacts.artifact_path(artifact, ctx.settings)
            if _intact(path, artifact):
                shards[int(artifact.info["shard"])] = artifact
                continue
            log.warning("job %s: shard %s (%s) is missing or does not match its sha256; writing it again",
                        job_id, artifact.info.get("shard"), path)
            damaged.append(path)
            session.delete(artifact)
    for path in damaged:  # after the rows are gone: a crash in between leaves a row without file, seen again
        path.unlink(missing_ok=True)
    return shards


def _intact(path: Path, artifact: Artifact) -> bool:
    """The file is there with the recorded size and sha256 (the size first: a truncated file costs no hashing)."""
    return path.is_file() and path.stat().st_size == artifact.size and sha256_file(path) == artifact.sha256
