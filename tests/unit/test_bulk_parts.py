"""The pieces of bulk generation: spans, shards, encoding, dedupe, models.config rendering, the result zip."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from api.result_zip import flat_result, shards_result
from core.serving_config import ServedModel, render_models_config
from worker.bulk import aligned_spans
from worker.dedupe import NearDuplicateFilter
from worker.encoding import ImageFormat, encode_batch, encode_image, encoding_pool, perceptual_hash
from worker.shards import ShardWriter, plan_shards, read_manifest


def _image(seed: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_aligned_spans_cut_at_block_multiples_only() -> None:
    assert aligned_spans(0, 130, 64) == [(0, 64), (64, 128), (128, 130)]
    assert aligned_spans(100, 200, 64) == [(100, 128), (128, 192), (192, 200)]
    assert aligned_spans(5, 9, 64) == [(5, 9)]


def test_plan_shards_covers_every_index_once() -> None:
    shards = plan_shards(25_001, 10_000)
    assert [(s.index, s.start, s.stop, s.file_name) for s in shards] == [
        (0, 0, 10_000, "images-00000.zip"), (1, 10_000, 20_000, "images-00001.zip"),
        (2, 20_000, 25_001, "images-00002.zip")]


def test_a_shard_is_byte_reproducible_and_carries_its_manifest(tmp_path: Path) -> None:
    def write(path: Path) -> bytes:
        writer = ShardWriter(path)
        for i in range(3):
            writer.add(f"cat-{i:07d}.png", encode_image(_image(i), ImageFormat()), {"index": i, "seed": 9})
        writer.close()
        return path.read_bytes()

    first, second = write(tmp_path / "a.zip"), write(tmp_path / "b.zip")
    assert first == second
    assert read_manifest(tmp_path / "a.zip")[2] == {"file": "cat-0000002.png", "index": 2, "seed": 9}
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
        assert archive.namelist()[-1] == "manifest.jsonl"


def test_an_aborted_shard_leaves_nothing(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path / "a.zip")
    writer.add("x.png", b"data", {"index": 0})
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_encoding_is_deterministic_in_both_formats_and_in_a_pool() -> None:
    images = np.stack([_image(i) for i in range(6)])
    png = [encode_image(i, ImageFormat("png")) for i in images]
    assert [np.asarray(Image.open(io.BytesIO(b))) for b in png][3].tolist() == images[3].tolist()  # lossless
    jpeg = encode_image(images[0], ImageFormat("jpeg", 50))
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG" and jpeg == encode_image(images[0], ImageFormat("jpeg", 50))
    assert len(encode_image(images[0], ImageFormat("jpeg", 95))) > len(jpeg)
    with encoding_pool(2) as pool:
        encoded, hashes = pool.submit(encode_batch, images, ImageFormat("png"), True).result()
    assert encoded == png and hashes == [perceptual_hash(i) for i in images]
    grey = encode_image(images[0][..., :1], ImageFormat())
    assert Image.open(io.BytesIO(grey)).mode == "L"


def test_perceptual_hashes_see_through_small_changes() -> None:
    base = np.kron(_image(1, 8), np.ones((8, 8, 1), dtype=np.uint8))  # a 64 px blocky picture
    noisy = np.clip(base.astype(int) + np.random.default_rng(2).integers(-6, 7, base.shape), 0, 255).astype(np.uint8)
    other = np.kron(_image(2, 8), np.ones((8, 8, 1), dtype=np.uint8))
    near = bin(perceptual_hash(base) ^ perceptual_hash(noisy)).count("1")
    far = bin(perceptual_hash(base) ^ perceptual_hash(other)).count("1")
    assert near <= 4 < 16 <= far


def test_near_duplicate_filter_keeps_the_first_of_each_group() -> None:
    keep = NearDuplicateFilter(distance=2)
    assert keep.admit([0b1111, 0b1110, 0b110000, 0b1111, 0b0]) == [True, False, True, False, False]
    assert len(keep) == 2
    resumed = NearDuplicateFilter(distance=2)
    for value in (0b1111, 0b110000):
        resumed.remember(value)
    assert resumed.admit([0b1101, 2**63]) == [False, True]
    big = NearDuplicateFilter(distance=0, capacity=1)
    assert big.admit(list(range(100))) == [True] * 100 and len(big) == 100  # grows past its capacity


def test_models_config_renders_policies_and_labels() -> None:
    text = render_models_config(Path("/srv/models"), [
        ServedModel("cats", None, (("stable", 2),)), ServedModel("dogs", (1, 3), ())])
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    parsed = text_format.Parse(text, model_server_config_pb2.ModelServerConfig()).model_config_list.config
    assert [(c.name, c.base_path, c.model_platform) for c in parsed] == [
        ("cats", "/srv/models/cats", "tensorflow"), ("dogs", "/srv/models/dogs", "tensorflow")]
    assert parsed[0].model_version_policy.WhichOneof("policy_choice") == "all"
    assert dict(parsed[0].version_labels) == {"stable": 2}
    assert list(parsed[1].model_version_policy.specific.versions) == [1, 3]
    assert render_models_config(Path("/x"), []) == "model_config_list {\n}\n"


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    paths = []
    for k in range(3):
        writer = ShardWriter(tmp_path / f"images-{k:05d}.zip")
        for i in range(k * 4, k * 4 + 4):
            writer.add(f"cat-{i:07d}.png", f"image {i}".encode(), {"index": i})
        writer.close()
        paths.append(writer.path)
    (tmp_path / "grid.png").write_bytes(b"grid")
    return paths


def test_flat_result_has_every_image_then_one_manifest(shards: list[Path], tmp_path: Path) -> None:
    data = b"".join(flat_result(shards, {"grid.png": tmp_path / "grid.png"}))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [f"cat-{i:07d}.png" for i in range(12)] + ["manifest.jsonl", "grid.png"]
        assert archive.read("cat-0000007.png") == b"image 7"
        lines = [json.loads(line) for line in archive.read("manifest.jsonl").decode().splitlines()]
    assert [line["index"] for line in lines] == list(range(12))


def test_shards_result_knows_its_length(shards: list[Path]) -> None:
    body, length = shards_result(shards, {})
    data = b"".join(body)
    assert len(data) == length
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [p.name for p in shards]
        assert archive.read("images-00001.zip") == shards[1].read_bytes()
