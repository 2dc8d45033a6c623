"""worker.evolution: the sample sheets of a run as one animated WebP, thinned, at the newest sheet's size."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from worker.evolution import build_evolution


def _sheet(shade: int, size: tuple[int, int] = (64, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, 40)).save(out, format="PNG")
    return out.getvalue()


def _frames(data: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(data))
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(image.convert("RGB"))
    return frames


def test_every_sheet_becomes_a_frame_in_order() -> None:
    data = build_evolution([_sheet(shade) for shade in (0, 60, 120, 180, 240)])
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size, image.n_frames, image.info["loop"]) == ("WEBP", (64, 32), 5, 0)
    assert [f.getpixel((3, 3))[0] for f in _frames(data)] == [0, 60, 120, 180, 240]  # lossless, oldest first


def test_a_long_run_is_thinned_keeping_its_first_and_last_sheet() -> None:
    data = build_evolution([_sheet(shade) for shade in range(100)], max_frames=10)
    frames = _frames(data)
    assert len(frames) == 10
    assert (frames[0].getpixel((0, 0))[0], frames[-1].getpixel((0, 0))[0]) == (0, 99)


def test_sheets_of_another_size_are_scaled_to_the_newest() -> None:
    data = build_evolution([_sheet(10, (32, 16)), _sheet(200, (64, 32))])
    assert Image.open(io.BytesIO(data)).size == (64, 32)


def test_no_sheets_is_refused() -> None:
    with pytest.raises(ValueError):
        build_evolution([])
