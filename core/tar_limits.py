"""Open tar archives whose extended headers are judged by their declared size before a byte of them is read.

CPython's tarfile reads a whole PAX (`x`, `g`) or GNU long-name (`L`, `K`) header into memory, whatever size
its 512-byte header block declares: a 200 KB .tar.gz can declare a 48 MiB name. A TarInfo subclass checks the
size in `_proc_member` (tarfile's documented hook for subclasses), which runs on every header block before
its extension is read, whether the tar is plain, gzip, bzip2 or xz.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, PayloadTooLarge

DEFAULT_MAX_HEADER_BYTES = 1024 * 1024
# Extended headers before one member: real archives use at most three (x, L, K). Each one is a recursion inside
# tarfile, so a long chain of tiny ones would otherwise end in RecursionError.
MAX_HEADER_CHAIN = 16
GLOBAL_TYPES = frozenset({tarfile.XGLTYPE})
EXTENDED_TYPES = frozenset({tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                            tarfile.GNUTYPE_LONGLINK}) | GLOBAL_TYPES
SPARSE_ADVICE = "sparse members (GNU tar --sparse) are not supported; re-create the archive without --sparse"


class _HeaderBudget:
    """Extended-header bytes of the member being read, and of global headers (which last the whole archive)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.chain_bytes, self.chain_length, self.global_bytes = max_bytes, 0, 0, 0

    def check(self, info: tarfile.TarInfo) -> None:
        """Refuse a header block whose declared size is negative, or whose extension would exceed the limit."""
        if info.size < 0:
            raise InvalidInput(f"the archive is corrupt: member {info.name[:200]!r} declares a negative size; "
                               "upload a valid zip or tar", code="invalid_archive",
                               fields={"file": ["Corrupt archive."]})
        if info.type == tarfile.GNUTYPE_SPARSE:
            raise _sparse_refused()
        if info.type not in EXTENDED_TYPES:
            self.chain_bytes = self.chain_length = 0  # the member the chain of extended headers describes
            return
        self.chain_length += 1
        if info.type in GLOBAL_TYPES:
            self.global_bytes += info.size
        else:
            self.chain_bytes += info.size
        if max(self.chain_bytes, self.global_bytes) > self.max_bytes or self.chain_length > MAX_HEADER_CHAIN:
            raise PayloadTooLarge(
                f"the archive's extended (PAX or GNU long-name) headers of one member exceed {self.max_bytes} bytes "
                f"or {MAX_HEADER_CHAIN} headers; use shorter file names (CATGAN_MAX_ARCHIVE_HEADER_BYTES)",
                code="archive_header_too_large", fields={"file": ["Extended tar header too large."]})


def _sparse_refused() -> InvalidInput:
    return InvalidInput(SPARSE_ADVICE, code="unsupported_archive", fields={"file": ["Sparse tar member."]})


def _bounded_tarinfo(budget: _HeaderBudget) -> type[tarfile.TarInfo]:
    """A TarInfo class that checks every header block against `budget` before tarfile processes it."""

    class BoundedTarInfo(tarfile.TarInfo):
        def _proc_member(self, tarfile: tarfile.TarFile) -> Any:
            budget.check(self)
            return super()._proc_member(tarfile)

        def _proc_gnusparse_10(self, next: Any, pax_headers: Any, tarfile: Any) -> None:
            # PAX sparse 1.0 keeps its map in the member's data, read whole with no bound: refuse it instead
            raise _sparse_refused()

    return BoundedTarInfo


def open_tar(path: Path, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> tarfile.TarFile:
    """Open a plain or compressed tar for reading, its extended headers limited to `max_header_bytes` each.

    Raises:
        PayloadTooLarge: (when a member is read) extended headers over the limit.
        InvalidInput: a negative size, or a sparse member.
    """
    return tarfile.open(path, tarinfo=_bounded_tarinfo(_HeaderBudget(max_header_bytes)))
