"""The cat-face finder (core.faces) on real photos: faces cropped square, photos without one counted."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.faces import FaceOptions, contact_sheet, crop_faces, crop_folder, find_faces, square_crop
from tests.conftest import SHARED_DATA

PHOTOS = SHARED_DATA / "cat-photos"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 real cat photos (every 100th of ../shared/data/cat-photos) and one of noise, with no cat in it."""
    if not PHOTOS.is_dir():
        pytest.skip(f"{PHOTOS} is not present")
    folder = tmp_path_factory.mktemp("photos")
    for photo in sorted(PHOTOS.iterdir())[::100][:30]:
        shutil.copy(photo, folder / photo.name)
    noise = np.random.default_rng(0).integers(0, 256, (300, 384, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "zz-noise.png")
    (folder / "zz-broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_faces_are_cropped_square_from_real_photos_and_faceless_ones_counted(sample: Path, tmp_path: Path) -> None:
    counts = crop_folder(sample, tmp_path / "faces", FaceOptions(face_size=32))
    assert (counts.photos, counts.unreadable) == (31, 1)  # 30 cats and the noise; the broken file is not a photo
    assert counts.face_photos + counts.faceless_photos == counts.photos
    assert counts.face_photos >= 10, counts  # the cascade finds about half the faces of these snapshots
    assert counts.faceless_photos >= 1  # the noise at least
    crops = sorted((tmp_path / "faces").iterdir())
    assert len(crops) == counts.faces >= counts.face_photos
    assert not [c for c in crops if "zz-noise" in c.name]
    for crop in crops:
        with Image.open(crop) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (32, 32))
    assert len({c.name.split("-")[0] for c in crops}) == counts.face_photos  # named by the photo they came from


def test_the_finder_is_deterministic_and_keeps_at_most_n_faces_largest_first(sample: Path) -> None:
    photo = next(rgb for rgb in map(_rgb, sorted(sample.glob("0*.jpg"))) if find_faces(rgb))
    first, again = crop_faces(photo, FaceOptions(face_size=128)), crop_faces(photo, FaceOptions(face_size=128))
    assert first and all(a.shape == (128, 128, 3) and (a == b).all() for a, b in zip(first, again, strict=True))
    two_cats = np.concatenate([photo, photo[:, ::-1]], axis=1)  # the same cat twice, side by side
    boxes = find_faces(two_cats, max_faces=5)
    assert len(boxes) >= 2 and [b[2] * b[3] for b in boxes] == sorted((b[2] * b[3] for b in boxes), reverse=True)
    assert len(crop_faces(two_cats, FaceOptions(max_per_photo=1))) == 1
    assert find_faces(np.full((200, 200, 3), 128, np.uint8)) == []


def test_the_crop_widens_the_box_and_stays_inside_the_photo() -> None:
    assert square_crop((100, 100, 40, 40), 400, 300) == (90, 85, 60)  # x1.5, raised by 0.12 of the box
    assert square_crop((0, 0, 40, 40), 400, 300) == (0, 0, 60)  # moved back inside, not padded
    assert square_crop((380, 270, 20, 30), 400, 300) == (355, 255, 45)
    assert square_crop((10, 10, 250, 250), 400, 300) == (0, 0, 300)  # shrunk to the photo's shorter side


def test_the_contact_sheet_is_512_wide_with_pixel_blocks(tmp_path: Path) -> None:
    tiles = []
    for i in range(10):
        tile = np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(tile).save(tmp_path / f"{i}.png")
        tiles.append(tile)
    sheet = np.asarray(Image.open(io.BytesIO(contact_sheet(sorted(tmp_path.iterdir()), 32))))
    assert sheet.shape == (128, 512, 3)  # 8 columns x 32 px, two rows, enlarged x2
    assert (sheet[:64:2, 64:128:2] == tiles[1]).all() and (sheet[1:64:2, 65:128:2] == tiles[1]).all()
    assert (sheet[64:128:2, 0:64:2] == tiles[8]).all()


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
