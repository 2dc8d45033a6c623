"""Placing an export as the next free version: past folders left without a row, and past racing writers."""

from __future__ import annotations

import threading
from pathlib import Path

from serving.repository import ModelRepository


def _stage(repo: ModelRepository, content: str) -> Path:
    def export(directory: Path) -> None:
        directory.mkdir(parents=True)
        (directory / "saved_model.pb").write_text(content)
    return repo.stage(export)


def test_a_leftover_folder_is_skipped_not_fatal(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    (tmp_path / "cats" / "3").mkdir(parents=True)
    (tmp_path / "cats" / "3" / "saved_model.pb").write_text("orphan")
    assert repo.place(_stage(repo, "new"), "cats", first=1) == 4
    assert (tmp_path / "cats" / "3" / "saved_model.pb").read_text() == "orphan"
    assert repo.place(_stage(repo, "newer"), "cats", first=7) == 7  # the database knows of 6 versions


def test_writers_racing_for_one_name_each_get_their_own_version(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    stagings = [_stage(repo, f"export {i}") for i in range(12)]
    placed: list[int] = []
    start = threading.Barrier(len(stagings))

    def place(staging: Path) -> None:
        start.wait()
        placed.append(repo.place(staging, "cats", first=1))

    threads = [threading.Thread(target=place, args=(s,)) for s in stagings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(placed) == list(range(1, 13))
    contents = {(tmp_path / "cats" / str(v) / "saved_model.pb").read_text() for v in placed}
    assert contents == {f"export {i}" for i in range(12)}
    assert list((tmp_path / ".staging").iterdir()) == []


def test_unplace_puts_the_export_back_for_another_try(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    staging = _stage(repo, "one")
    version = repo.place(staging, "cats", first=1)
    repo.unplace("cats", version, staging)
    assert repo.versions("cats") == [] and (staging / "saved_model.pb").read_text() == "one"
    repo.discard(staging)
    assert list((tmp_path / ".staging").iterdir()) == []
