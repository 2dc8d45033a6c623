"""Drop near-duplicate images by the Hamming distance of their 64-bit perceptual hashes."""

from __future__ import annotations

import numpy as np


class NearDuplicateFilter:
    """Remembers the hashes of kept images and refuses any within `distance` bits of one of them.

    The hashes are 8 bytes an image (8 MB for a million); each batch is compared with all of
    them at once, so the cost grows with the square of the job and is felt only for very large ones.
    """

    def __init__(self, distance: int, capacity: int = 1024) -> None:
        self.distance = distance
        self._hashes = np.empty(capacity, dtype=np.uint64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def admit(self, hashes: list[int]) -> list[bool]:
        """For each hash in order: keep it (and remember it), or drop it as a near-duplicate."""
        verdicts = []
        for value in hashes:
            keep = not self._near(value)
            if keep:
                self.remember(value)
            verdicts.append(keep)
        return verdicts

    def remember(self, value: int) -> None:
        """Add a kept image's hash (also used to rebuild the state of a resumed job)."""
        if self._size == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.empty(len(self._hashes), dtype=np.uint64)])
        self._hashes[self._size] = value
        self._size += 1

    def _near(self, value: int) -> bool:
        if not self._size:
            return False
        distances = np.bitwise_count(self._hashes[: self._size] ^ np.uint64(value))
        return bool(distances.min() <= self.distance)
