"""Archive unpacking refuses what would escape, lie about its size or hold no images."""

import io
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFile

from core.archives import ArchiveLimits, extract_archive, scan_images
from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tests.support.images import image_bytes, image_zip, png_claiming, tar_of, write_images, zip_of

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


# --- hostile archives: escapes, links, bombs, lies -----------------------------------------------------------------

def _nothing_escaped(root: Path) -> None:
    """No sentinel file anywhere under the test's tmp root (the archives name it `escape.*`)."""
    assert [p for p in root.rglob("escape*")] == []


@pytest.mark.parametrize("name", ["../escape.png", "../../escape.txt", "../../../../escape.png", "a/../../escape.png",
                                  "..\\..\\escape.png", "/tmp/escape.png", "//escape.png", "."])
@pytest.mark.parametrize("build", [zip_of, tar_of], ids=["zip", "tar"])
def test_paths_leaving_the_target_are_refused(tmp_path: Path, name: str, build: callable) -> None:
    target = tmp_path / "deep" / "er" / "out"
    with pytest.raises(InvalidInput) as info:
        extract_archive(_archive(tmp_path, build({"ok.png": image_bytes(), name: image_bytes()})), target, LIMITS)
    assert info.value.code == "unsafe_archive"
    _nothing_escaped(tmp_path)
    assert not Path("/tmp/escape.png").exists()


def _tar_entry(tf: tarfile.TarFile, name: str, kind: bytes, linkname: str = "", data: bytes = b"") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    tf.addfile(info, io.BytesIO(data) if data else None)


def test_tar_links_devices_and_fifos_are_never_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        _tar_entry(tf, "sym.png", tarfile.SYMTYPE, "/etc/passwd")
        _tar_entry(tf, "hard.png", tarfile.LNKTYPE, "/etc/passwd")
        _tar_entry(tf, "hard-rel.png", tarfile.LNKTYPE, "../../escape.png")
        _tar_entry(tf, "dir-link", tarfile.SYMTYPE, "../../..")
        _tar_entry(tf, "dir-link/escape.png", tarfile.REGTYPE, data=image_bytes())  # through the link: stays inside
        _tar_entry(tf, "tty.png", tarfile.CHRTYPE)
        _tar_entry(tf, "disk.png", tarfile.BLKTYPE)
        _tar_entry(tf, "fifo.png", tarfile.FIFOTYPE)
        _tar_entry(tf, "ok.png", tarfile.REGTYPE, data=image_bytes())
    target = tmp_path / "a" / "b" / "out"
    assert extract_archive(_archive(tmp_path, buffer.getvalue()), target, LIMITS) == 7
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    assert written == ["dir-link", "dir-link/escape.png", "ok.png"]
    assert all(not p.is_symlink() and (p.is_dir() or p.is_file()) for p in target.rglob("*"))
    assert [p for p in tmp_path.rglob("escape*") if target not in p.parents] == []


def test_zip_directories_devices_and_encrypted_members_are_never_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, kind in (("fifo.png", stat.S_IFIFO), ("dev.png", stat.S_IFCHR), ("dir.png", stat.S_IFDIR)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (kind | 0o644) << 16
            zf.writestr(info, b"")
        zf.writestr("secret.png", image_bytes())
        zf.writestr("ok.png", image_bytes())
    data = _set_zip_field(buffer.getvalue(), "secret.png", flags=0x1)  # "encrypted": zipfile cannot write one
    assert extract_archive(_archive(tmp_path, data), tmp_path / "out", LIMITS) == 4
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ok.png"]


def _set_zip_field(data: bytes, name: str | bytes, *, flags: int | None = None, method: int | None = None) -> bytes:
    """Patch a member's general purpose flags or compression method in its local and central headers."""
    out = bytearray(data)
    encoded = name.encode() if isinstance(name, str) else name
    for signature, flag_at, method_at, name_at in ((b"PK\x03\x04", 6, 8, 30), (b"PK\x01\x02", 8, 10, 46)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            if out[start + name_at:start + name_at + len(encoded)] == encoded:
                if flags is not None:
                    out[start + flag_at:start + flag_at + 2] = flags.to_bytes(2, "little")
                if method is not None:
                    out[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            start += 4
    return bytes(out)


BIG = ArchiveLimits(max_files=1000, max_bytes=10**10)  # only the ratio can stop these


def test_a_member_that_expands_too_much_is_a_bomb(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).bytes(1_000_000)  # incompressible: the archive as a whole is only ~6:1
    data = zip_of({"noise.png": noise, "bomb.png": b"\0" * 5_000_000}, zipfile.ZIP_DEFLATED)  # ~1000:1
    with pytest.raises(PayloadTooLarge, match="'bomb.png' unpacks to more than 200 times"):
        extract_archive(_archive(tmp_path, data), tmp_path / "out", BIG)
    # the limit is a setting: an operator who expects such files raises it
    extract_archive(_archive(tmp_path, data), tmp_path / "out2", ArchiveLimits(1000, 10**10, max_ratio=5000))


def test_many_small_members_that_expand_too_much_are_a_bomb(tmp_path: Path) -> None:
    data = zip_of({f"b{i}.png": b"\0" * 900_000 for i in range(8)}, zipfile.ZIP_DEFLATED)  # each under the 1 MiB floor
    with pytest.raises(PayloadTooLarge, match="the archive unpacks to more than 200 times"):
        extract_archive(_archive(tmp_path, data), tmp_path / "out", BIG)


def test_small_files_that_compress_well_are_fine(tmp_path: Path) -> None:
    # 1000:1, but half a MiB
    data = zip_of({"flat.png": b"\0" * 500_000, "ok.png": image_bytes()}, zipfile.ZIP_DEFLATED)
    assert extract_archive(_archive(tmp_path, data), tmp_path / "out", BIG) == 0


@pytest.mark.parametrize("name", ["bomb.png", "padding.txt"])  # skipping a member still decompresses it
def test_compressed_tar_bombs(tmp_path: Path, name: str) -> None:
    data = tar_of({"ok.png": image_bytes(), name: b"\0" * 5_000_000})
    assert len(data) < 20_000
    with pytest.raises(PayloadTooLarge, match="the archive unpacks to more than 200 times"):
        extract_archive(_archive(tmp_path, data), tmp_path / "out", BIG)
    with pytest.raises(PayloadTooLarge, match="more than 1000000 bytes"):
        extract_archive(_archive(tmp_path, data), tmp_path / "out2", ArchiveLimits(10, 1_000_000, 10**6))


def test_entries_of_every_kind_count_against_the_file_limit(tmp_path: Path) -> None:
    data = zip_of({"a/": b"", "b/": b"", "notes.txt": b"x", "ok.png": image_bytes()})
    with pytest.raises(PayloadTooLarge, match="more than 3 files"):
        extract_archive(_archive(tmp_path, data), tmp_path / "out", ArchiveLimits(3, 10**9))


@pytest.mark.parametrize("damage", ["unknown_method", "xz_garbage", "bad_utf8_name"])
def test_archives_our_readers_cannot_read_are_invalid(tmp_path: Path, damage: str) -> None:
    if damage == "unknown_method":
        data = _set_zip_field(zip_of({"ok.png": image_bytes()}), "ok.png", method=99)
    elif damage == "xz_garbage":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:xz") as tf:
            _tar_entry(tf, "ok.png", tarfile.REGTYPE, data=image_bytes(size=256))
        raw = bytearray(buffer.getvalue())
        raw[40:-40] = bytes(len(raw) - 80)  # keep the xz magic, zero the stream
        data = bytes(raw)
    else:
        data = zip_of({"ok~.png": image_bytes()}).replace(b"ok~.png", b"ok\xff.png")
        data = _set_zip_field(data, b"ok\xff.png", flags=0x800)  # says UTF-8, is not
    with pytest.raises(InvalidInput) as info:
        extract_archive(_archive(tmp_path, data), tmp_path / "out", LIMITS)
    assert info.value.code == "invalid_archive"


# --- hostile images: bombs and corrupt files are skipped and counted, never decoded --------------------------------

@pytest.mark.parametrize("side", [30_000, 10_000, 8_500])  # Pillow's error, Pillow's warning, our own limit
@pytest.mark.parametrize("action", ["error", "ignore", "default"])  # whatever the warning filters say
def test_decompression_bomb_images_are_skipped_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                side: int, action: str) -> None:
    write_images(tmp_path, 2)
    (tmp_path / "bomb.png").write_bytes(png_claiming(side, side))
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda img: decoded.append(img.size) or load(img))
    with warnings.catch_warnings():
        warnings.simplefilter(action)
        scan = scan_images(tmp_path, prune=True)
    assert (scan.image_count, scan.skipped_count) == (2, 1)
    assert (side, side) not in decoded and decoded  # the real ones were decoded, the bomb never
    assert not (tmp_path / "bomb.png").exists()


def test_corrupt_and_disguised_files_are_skipped(tmp_path: Path) -> None:
    write_images(tmp_path, 1)
    jpeg, gif = image_bytes(size=256, fmt="JPEG"), image_bytes(size=64, fmt="GIF")
    (tmp_path / "truncated.jpg").write_bytes(jpeg[:-200])  # the header is fine; the pixels stop short
    (tmp_path / "truncated.gif").write_bytes(gif[: len(gif) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "doc.png").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    (tmp_path / "script.jpg").write_bytes(b"#!/bin/sh\nrm -rf /\n")
    scan = scan_images(tmp_path, prune=True)
    assert (scan.image_count, scan.skipped_count) == (1, 5)
    assert [p.name for p in tmp_path.iterdir()] == ["img-0000.png"]


def test_a_webp_beside_a_png_of_the_same_name_keeps_both(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(image_bytes(seed=1))
    (tmp_path / "cat.webp").write_bytes(image_bytes(seed=2, fmt="WEBP"))
    assert scan_images(tmp_path, prune=True).image_count == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.png", "cat.webp.png"]


def test_the_entry_count_is_checked_before_the_zip_directory_is_loaded(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_of({f"d{i}/": b"" for i in range(50)} | {"ok.png": image_bytes()})
    monkeypatch.setattr(zipfile.ZipFile, "infolist", lambda self: pytest.fail("the directory was loaded"))
    with pytest.raises(PayloadTooLarge, match="more than 10 files"):
        extract_archive(_archive(tmp_path, data), tmp_path / "out", ArchiveLimits(10, 10**9))
    monkeypatch.undo()
    assert extract_archive(_archive(tmp_path, data), tmp_path / "ok", ArchiveLimits(51, 10**9)) == 0  # 51 is fine
