"""Walk a server-side folder within bounds before anything reads it: registering `/` must not walk the disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import PayloadTooLarge


@dataclass(frozen=True)
class FolderLimits:
    max_entries: int  # files, folders and links visited, at any depth
    max_depth: int  # folders below the registered one


def survey_links(folder: Path, limits: FolderLimits) -> list[Path]:
    """The symbolic links under `folder`, stopping at the first entry or folder past `limits`.

    Linked folders are listed, not entered (neither scanning nor training descends into them).

    Raises:
        PayloadTooLarge: more entries than `limits.max_entries`, or folders deeper than `limits.max_depth`.
    """
    links: list[Path] = []
    entries, pending = 0, [(folder, 0)]
    while pending:
        directory, depth = pending.pop()
        try:
            listing = os.scandir(directory)
        except OSError:  # unreadable: training skips it as well
            continue
        with listing:
            for entry in listing:  # one at a time: a folder of ten million files is never listed whole
                entries += 1
                if entries > limits.max_entries:
                    raise PayloadTooLarge(f"{folder} holds more than {limits.max_entries} files and folders; "
                                          "register a smaller folder or raise CATGAN_MAX_FOLDER_ENTRIES",
                                          code="folder_too_large", fields={"path": ["Too many entries."]})
                if entry.is_symlink():
                    links.append(Path(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    if depth + 1 > limits.max_depth:
                        raise PayloadTooLarge(f"{folder} has folders more than {limits.max_depth} levels deep, "
                                              f"e.g. {entry.path[:300]}; register a shallower folder or raise "
                                              "CATGAN_MAX_FOLDER_DEPTH", code="folder_too_deep",
                                              fields={"path": ["Too deep."]})
                    pending.append((Path(entry.path), depth + 1))
    return links
