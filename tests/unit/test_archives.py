"""Archive unpacking refuses what would escape, lie about its size or hold no images."""

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from core.archives import ArchiveLimits, extract_archive, scan_images
from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tests.support.images import image_bytes, image_zip, tar_of, write_images, zip_of

LIMITS = ArchiveLimits(max_files=1000, max_bytes=10_000_000)


def _archive(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


def test_zip_of_images_is_unpacked_and_non_images_skipped(tmp_path: Path) -> None:
    data = image_zip(5, extra={"README.txt": b"hello", "cats/notes.md": b"x"})
    skipped = extract_archive(_archive(tmp_path, data), tmp_path / "out", LIMITS)
    assert skipped == 2
    assert sorted(p.name for p in (tmp_path / "out" / "cats").iterdir()) == [f"cat-{i:03d}.png" for i in range(5)]


def test_tar_gz_is_unpacked(tmp_path: Path) -> None:
    data = tar_of({"a/1.png": image_bytes(seed=1), "a/2.png": image_bytes(seed=2)})
    extract_archive(_archive(tmp_path, data), tmp_path / "out", LIMITS)
    assert (tmp_path / "out" / "a" / "2.png").read_bytes() == image_bytes(seed=2)


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "a/../../evil.png"])
def test_zip_slip_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        extract_archive(_archive(tmp_path, zip_of({name: image_bytes()})), tmp_path / "out", LIMITS)
    assert info.value.code == "unsafe_archive"
    assert not (tmp_path / "evil.png").exists()


def test_symlinks_in_zip_and_tar_are_never_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("ok.png", image_bytes())
    assert extract_archive(_archive(tmp_path, buffer.getvalue()), tmp_path / "z", LIMITS) == 1
    assert not (tmp_path / "z" / "link.png").exists()

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        info = tarfile.TarInfo("link.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    assert extract_archive(_archive(tmp_path, buffer.getvalue()), tmp_path / "t", LIMITS) == 1
    assert not (tmp_path / "t" / "link.png").exists()


def test_zip_bomb_is_stopped_by_the_byte_limit(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.png", b"\0" * 5_000_000)
    assert len(buffer.getvalue()) < 50_000
    with pytest.raises(PayloadTooLarge):
        extract_archive(_archive(tmp_path, buffer.getvalue()), tmp_path / "out", ArchiveLimits(10, 1_000_000))


def test_too_many_files(tmp_path: Path) -> None:
    with pytest.raises(PayloadTooLarge, match="more than 3 files"):
        extract_archive(_archive(tmp_path, image_zip(4)), tmp_path / "out", ArchiveLimits(3, 10**9))


def test_corrupt_and_foreign_files(tmp_path: Path) -> None:
    truncated = image_zip(5)[:-200]
    with pytest.raises(InvalidInput) as info:
        extract_archive(_archive(tmp_path, truncated), tmp_path / "a", LIMITS)
    assert info.value.code == "invalid_archive"
    with pytest.raises(UnsupportedMediaType):
        extract_archive(_archive(tmp_path, b"just some text, not an archive" * 20), tmp_path / "b", LIMITS)


def test_scan_counts_skips_and_prunes(tmp_path: Path) -> None:
    write_images(tmp_path, 3)
    write_images(tmp_path / "webp", 2, fmt="WEBP")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    scan = scan_images(tmp_path, prune=True)
    assert (scan.image_count, scan.skipped_count) == (5, 1)
    assert not (tmp_path / "broken.png").exists()
    assert sorted(p.suffix for p in (tmp_path / "webp").iterdir()) == [".png", ".png"]  # converted for TF
    assert scan_images(tmp_path).content_hash == scan.content_hash
