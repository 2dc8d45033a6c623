"""Cat faces from raw photos: OpenCV's frontal cat-face Haar cascade, each box widened and cropped square.

Photos of cats are mostly sofa, garden and body; a GAN trained on them learns sofas. A face dataset
(`"faces": "cat"`) keeps only the faces, each centred and at one size, which is what makes 64 px cats
learnable in minutes. The recipe (deterministic; numpy + OpenCV, no TensorFlow, so it runs in the API):

1. Decode (Pillow, EXIF rotation applied) to RGB; search a grey copy whose longer side is at most
   DETECT_SIDE: the cascade's cost grows with the pixel count, and 320 px finds as many faces in
   ../shared/data/cat-photos as 384 px (79 of 150) in two thirds of the time.
2. `haarcascade_frontalcatface_extended.xml` (Joseph Howse's cascade, shipped by OpenCV 4.x's wheels
   and Debian's opencv-data; OpenCV 5's wheels dropped the cascades), scale step SCALE_FACTOR, at least
   MIN_NEIGHBORS overlapping hits, faces at least MIN_FACE px at the search size. No histogram
   equalisation: it found fewer faces (43 vs 50 of 100) and more false ones in fur.
3. The cascade's box runs from the brow to the mouth: the crop is WIDEN times its side, its centre
   raised by LIFT times the side, so both ears and the chin are in. A crop that would leave the photo is
   moved back inside (and shrunk to the photo's shorter side if it is larger), never padded.
4. At most `max_per_photo` faces a photo, the largest first: two cats side by side are common, while
   a third box is mostly a false hit in fur or a cushion.
5. Resized to `face_size` (INTER_AREA to shrink, Lanczos to enlarge) and written as PNG.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.archives import MAX_IMAGE_PIXELS, image_files
from core.errors import ServiceUnavailable

CASCADE = "haarcascade_frontalcatface_extended.xml"
# where the cascade may be: the wheel's own data folder (4.x), then Debian's opencv-data
CASCADE_DIRS = [Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or "."),
                Path("/usr/share/opencv4/haarcascades"), Path("/usr/share/opencv/haarcascades")]
FACE_SIZES = (32, 64, 128)
DETECT_SIDE = 320  # px: the longer side of the grey copy the cascade searches
DRAFT_SIDE = 1024  # px: large JPEGs are decoded at about this size (crops come from it)
SCALE_FACTOR, MIN_NEIGHBORS, MIN_FACE = 1.1, 3, 28
WIDEN = 1.5  # crop side / box side: ears above the box, the chin below it
LIFT = 0.12  # crop centre raised by this times the box side: ears stand higher than the chin hangs
MAX_FACES_PER_PHOTO = 2
SHEET_COLUMNS, SHEET_TILES, SHEET_MIN_WIDTH = 8, 64, 512

_local = threading.local()  # a CascadeClassifier per thread: detectMultiScale is not documented thread-safe


@dataclass(frozen=True)
class FaceOptions:
    """What a face dataset keeps of each photo."""

    face_size: int = 64  # px, the side of every crop: one of FACE_SIZES
    max_per_photo: int = MAX_FACES_PER_PHOTO


@dataclass
class FaceCounts:
    """What the finder saw: `photos` decoded, of which `face_photos` gave `faces` crops and `faceless_photos` none."""

    photos: int = 0
    face_photos: int = 0
    faceless_photos: int = 0
    faces: int = 0
    unreadable: int = 0  # image-looking files that did not decode

    def summary(self, options: FaceOptions) -> dict[str, int | str]:
        """The dataset's `faces` record."""
        return {"kind": "cat", "face_size": options.face_size, "max_per_photo": options.max_per_photo,
                **asdict(self)}


def _cascade() -> cv2.CascadeClassifier:
    """This thread's classifier, or ServiceUnavailable when no OpenCV data folder holds the cascade."""
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        path = next((d / CASCADE for d in CASCADE_DIRS if (d / CASCADE).is_file()), None)
        cascade = cv2.CascadeClassifier(str(path)) if path else None
        if cascade is None or cascade.empty():
            raise ServiceUnavailable(f"the cat-face cascade {CASCADE} is not installed (it ships with the "
                                     "opencv-python-headless 4.x wheel and Debian's opencv-data)",
                                     code="faces_unavailable")
        _local.cascade = cascade
    return cascade


def find_faces(photo: np.ndarray, max_faces: int = MAX_FACES_PER_PHOTO) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of cat faces in an RGB photo (H, W, 3), in its pixels, largest first."""
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)  # (H, W)
    scale = min(1.0, DETECT_SIDE / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    boxes = _cascade().detectMultiScale(grey, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS,
                                        minSize=(MIN_FACE, MIN_FACE))
    found = sorted((tuple(int(round(v / scale)) for v in box) for box in boxes),
                   key=lambda b: (-b[2] * b[3], b[1], b[0]))  # area, then position: a stable order
    return found[:max_faces]  # type: ignore[return-value]


def square_crop(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int]:
    """The widened square (x, y, side) around a face box, inside a width x height photo."""
    x, y, w, h = box
    side = min(int(round(max(w, h) * WIDEN)), width, height)
    cx, cy = x + w / 2, y + h / 2 - LIFT * h
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return left, top, side


def crop_faces(photo: np.ndarray, options: FaceOptions = FaceOptions()) -> list[np.ndarray]:
    """The photo's cat faces as (face_size, face_size, 3) uint8 crops, largest face first."""
    height, width = photo.shape[:2]
    crops = []
    for box in find_faces(photo, options.max_per_photo):
        left, top, side = square_crop(box, width, height)
        patch = photo[top:top + side, left:left + side]
        method = cv2.INTER_AREA if side >= options.face_size else cv2.INTER_LANCZOS4
        crops.append(cv2.resize(patch, (options.face_size, options.face_size), interpolation=method))
    return crops


def read_photo(path: Path) -> np.ndarray | None:
    """An image file as RGB (H, W, 3) uint8, upright by its EXIF orientation; None when it does not decode.

    Images over core.archives' pixel limit are skipped undecoded (bombs); a large JPEG is decoded at the
    smallest 1/2^k scale still DRAFT_SIDE px or more, which is more than any crop needs.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    return None
                image.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))
                return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    except Exception:  # noqa: BLE001 - decoders fail on hostile files in many ways (OSError, struct.error...)
        return None


def crop_folder(source: Path, target: Path, options: FaceOptions) -> FaceCounts:
    """Write the faces of every photo under `source` as PNGs in `target` (one flat folder); count what was found."""
    target.mkdir(parents=True, exist_ok=True)
    counts = FaceCounts()
    for index, path in enumerate(image_files(source)):
        photo = read_photo(path)
        if photo is None:
            counts.unreadable += 1
            continue
        counts.photos += 1
        crops = crop_faces(photo, options)
        counts.face_photos += bool(crops)
        counts.faceless_photos += not crops
        counts.faces += len(crops)
        for k, crop in enumerate(crops):  # the photo's place and name, so a crop can be traced back
            Image.fromarray(crop).save(target / f"{index:06d}-{path.stem[:40]}-{k}.png", format="PNG")
    return counts


def contact_sheet(paths: list[Path], face_size: int) -> bytes:
    """A PNG of up to SHEET_TILES crops, SHEET_COLUMNS wide, enlarged (nearest) to >= SHEET_MIN_WIDTH px wide."""
    tiles = [read_photo(p) for p in paths[:SHEET_TILES]]
    tiles = [t if t is not None and t.shape[:2] == (face_size, face_size)
             else np.zeros((face_size, face_size, 3), np.uint8) for t in tiles]
    rows = max(1, -(-len(tiles) // SHEET_COLUMNS))
    sheet = np.full((rows * face_size, SHEET_COLUMNS * face_size, 3), 24, np.uint8)  # (H, W, 3)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, SHEET_COLUMNS)
        sheet[r * face_size:(r + 1) * face_size, c * face_size:(c + 1) * face_size] = tile
    factor = max(1, -(-SHEET_MIN_WIDTH // sheet.shape[1]))
    sheet = np.repeat(np.repeat(sheet, factor, axis=0), factor, axis=1)
    out = io.BytesIO()
    Image.fromarray(sheet).save(out, format="PNG")
    return out.getvalue()
