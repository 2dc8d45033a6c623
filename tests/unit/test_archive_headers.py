"""Tar extended headers (PAX, GNU long names) are judged by their declared size, never read past the limit."""

from __future__ import annotations

import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from core.archives import ArchiveLimits, extract_archive
from core.errors import InvalidInput, PayloadTooLarge
from core.tar_limits import DEFAULT_MAX_HEADER_BYTES
from tests.support.images import image_bytes
from tests.support.tar_headers import (
    LONG_NAME,
    header_block,
    huge_header_tar,
    member,
    pax_header,
    write_tar,
)

LIMITS = ArchiveLimits(max_files=1000, max_bytes=10**9)
MiB = 1024 * 1024


def _peak_bytes(action: Callable[[], object]) -> int:
    """The most memory Python allocated while `action` ran (its exception, if any, is swallowed)."""
    tracemalloc.start()
    try:
        action()
    except (PayloadTooLarge, InvalidInput):
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _refused(archive: Path, target: Path, limits: ArchiveLimits = LIMITS) -> PayloadTooLarge:
    with pytest.raises(PayloadTooLarge) as info:
        extract_archive(archive, target, limits)
    return info.value


@pytest.mark.parametrize("kind", ["pax", "gnu", "global"])
def test_a_48_mib_header_in_a_small_tar_gz_is_refused_with_flat_memory(tmp_path: Path, kind: str) -> None:
    archive = huge_header_tar(tmp_path / "hostile.tar.gz", kind, 48 * MiB)
    assert archive.stat().st_size < 250_000
    normal = write_tar(tmp_path / "normal.tar.gz", [member("cat.png", image_bytes())])
    baseline = _peak_bytes(lambda: extract_archive(normal, tmp_path / "normal", LIMITS))
    error: list[PayloadTooLarge] = []
    peak = _peak_bytes(lambda: error.append(_refused(archive, tmp_path / "out")))
    assert error[0].code == "archive_header_too_large"
    assert f"exceed {DEFAULT_MAX_HEADER_BYTES} bytes" in error[0].message
    assert peak < baseline + 2 * MiB, (peak, baseline)
    assert list((tmp_path / "out").rglob("*")) == []


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
@pytest.mark.parametrize("kind", ["pax", "gnu"])
def test_every_tar_compression_judges_headers_unread(tmp_path: Path, kind: str, compression: str) -> None:
    archive = huge_header_tar(tmp_path / "hostile", kind, 8 * MiB, compression)
    normal = write_tar(tmp_path / "normal", [member("cat.png", image_bytes())], compression)
    baseline = _peak_bytes(lambda: extract_archive(normal, tmp_path / "normal-out", LIMITS))
    limits = ArchiveLimits(1000, 10**9, max_header_bytes=64 * 1024)
    peak = _peak_bytes(lambda: _refused(archive, tmp_path / "out", limits))
    assert _refused(archive, tmp_path / "out", limits).code == "archive_header_too_large"
    assert peak < baseline + MiB, (peak, baseline)


def test_headers_under_the_limit_add_up_per_member_and_across_global_ones(tmp_path: Path) -> None:
    limits = ArchiveLimits(1000, 10**9, max_header_bytes=100_000)
    chained = write_tar(tmp_path / "chained.tar.gz", [*pax_header(60_000), *pax_header(60_000, key="other"),
                                                      member("cat.png", image_bytes())])
    assert _refused(chained, tmp_path / "a", limits).code == "archive_header_too_large"
    globals_ = write_tar(tmp_path / "globals.tar.gz", [
        *pax_header(60_000, key="one", kind=tarfile.XGLTYPE), member("a.png", image_bytes()),
        *pax_header(60_000, key="two", kind=tarfile.XGLTYPE), member("b.png", image_bytes())])
    assert _refused(globals_, tmp_path / "b", limits).code == "archive_header_too_large"
    many = [block for i in range(40) for block in pax_header(600, key=f"k{i}")]
    long_chain = write_tar(tmp_path / "chain.tar.gz", [*many, member("cat.png", image_bytes())])
    assert "16 headers" in _refused(long_chain, tmp_path / "c", limits).message


def test_header_bytes_count_against_the_unpacked_byte_limit(tmp_path: Path) -> None:
    parts = [block for i in range(8) for block in [*pax_header(900_000), member(f"{i}.png", image_bytes(seed=i))]]
    archive = write_tar(tmp_path / "headers.tar.gz", parts)
    with pytest.raises(PayloadTooLarge, match="more than 5000000 bytes"):
        extract_archive(archive, tmp_path / "out", ArchiveLimits(1000, 5_000_000, max_ratio=10**6))


def _negative_size_header() -> bytes:
    """A PAX header block declaring -1 MiB bytes (base-256): tarfile would read the whole rest of the stream."""
    block = bytearray(header_block("././@PaxHeader", tarfile.XHDTYPE, 0))
    block[124:136] = tarfile.itn(-MiB, 12, tarfile.GNU_FORMAT)
    block[148:156] = b"%06o\0 " % (sum(block[:148]) + 8 * 32 + sum(block[156:]))  # checksum, its field as spaces
    return bytes(block)


def _pax_records(records: dict[str, str]) -> bytes:
    """A PAX header block and its records, padded."""
    return tarfile.TarInfo("x")._create_pax_generic_header(records, tarfile.XHDTYPE, "utf-8")


BROKEN = {
    "negative size": (lambda: [_negative_size_header(), member("cat.png", image_bytes())], "invalid_archive"),
    "GNU sparse": (lambda: [header_block("sparse.png", tarfile.GNUTYPE_SPARSE, 0)], "unsupported_archive"),
    "PAX sparse 1.0": (lambda: [_pax_records({"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}),
                                member("sparse.png", b"99999999999\n" + b"1\n" * 100_000)], "unsupported_archive"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_negative_sizes_and_sparse_members_are_refused(tmp_path: Path, case: str) -> None:
    parts, code = BROKEN[case]
    archive = write_tar(tmp_path / "broken.tar.gz", parts())
    with pytest.raises(InvalidInput) as info:
        extract_archive(archive, tmp_path / "out", LIMITS)
    assert info.value.code == code
    assert list((tmp_path / "out").rglob("*")) == []


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_long_names_under_the_limit_still_unpack(tmp_path: Path, fmt: int) -> None:
    archive = write_tar(tmp_path / "long.tar.gz", [member(LONG_NAME, image_bytes(), fmt),
                                                   member("short.png", image_bytes(seed=1), fmt)])
    assert extract_archive(archive, tmp_path / "out", LIMITS) == 0
    assert (tmp_path / "out" / LONG_NAME).read_bytes() == image_bytes()
    assert (tmp_path / "out" / "short.png").read_bytes() == image_bytes(seed=1)
