"""Exported generators load and run with TensorFlow alone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from gans.configs.dcgan import DCGANConfig
from gans.export import export_generator, load_generator, read_metadata, to_uint8
from gans.nets.dcgan import build_generator

CONFIG = DCGANConfig(image_size=32, g_filters=64, d_filters=16, kernel_size=4, z_dim=16)


def _latents(count: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(count, CONFIG.z_dim)).astype(np.float32)


def _export(tmp_path: Path) -> tuple[Path, np.ndarray]:
    generator = build_generator(CONFIG)
    export_dir = tmp_path / "model" / "1"
    export_generator(generator, export_dir, CONFIG.z_dim, metadata={"job_id": "j-1"})
    expected = to_uint8(generator(_latents(5), training=False)).numpy()
    return export_dir, expected


def test_export_loads_in_a_fresh_process_with_only_tensorflow(tmp_path: Path) -> None:
    export_dir, expected = _export(tmp_path)
    np.save(tmp_path / "z.npy", _latents(5))
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        serve = tf.saved_model.load({str(export_dir)!r}).signatures["serving_default"]
        z = tf.constant(np.load({str(tmp_path / "z.npy")!r}))
        first, second = serve(z=z)["images"].numpy(), serve(z=z)["images"].numpy()
        assert first.dtype == np.uint8 and first.shape == (5, 32, 32, 3), first.shape
        assert first.tobytes() == second.tobytes()
        assert not any(m.startswith("gans") for m in sys.modules), "needs no project code"
        np.save({str(tmp_path / "out.npy")!r}, first)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_load_generator_and_metadata(tmp_path: Path) -> None:
    export_dir, expected = _export(tmp_path)
    generate = load_generator(export_dir)
    images = generate(_latents(5))
    assert images.dtype == np.uint8 and images.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(images, expected)  # inference mode: batch-independent
    np.testing.assert_array_equal(generate(_latents(5)[:2]), expected[:2])
    metadata = json.loads((export_dir / "metadata.json").read_text())
    signature = {"key": "serving_default", "inputs": [{"name": "z", "dtype": "float32", "shape": [None, 16]}],
                 "outputs": [{"name": "images", "dtype": "uint8", "shape": [None, 32, 32, 3]}]}
    assert metadata == {"model": "dcgan", "kind": "unconditional", "signature": signature, "image_size": 32,
                        "z_dim": 16, "channels": 3, "job_id": "j-1"}
    assert read_metadata(export_dir) == metadata
