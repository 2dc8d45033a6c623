"""The model contract: declarations readable without TensorFlow, exports serving exactly what they declare."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tensorflow as tf

from gans import registry
from gans.config import check_params
from gans.configs.cgan import CGANConfig
from gans.configs.dcgan import DCGANConfig
from gans.configs.keras_gan import KerasGANConfig
from gans.configs.mlp_gan import MLPGANConfig
from gans.configs.pix2pix import Pix2PixConfig
from gans.contract import PARAM, ModelKind, Signature, TensorField, params_of
from gans.errors import ConfigError, DatasetError, GanError, TrainingDiverged
from gans.export import read_metadata

TINY = {
    "dcgan": DCGANConfig(image_size=32, z_dim=8, g_filters=16, d_filters=4, kernel_size=3),
    "keras-gan": KerasGANConfig(image_size=32, latent_dim=8, channels=1),
    "mlp-gan": MLPGANConfig(image_size=12, z_dim=8, hidden_units=8, hidden_layers=1),
    "cgan": CGANConfig(class_names=("a", "b", "c"), image_size=28, z_dim=8, g_filters=4, d_filters=4),
    "pix2pix": Pix2PixConfig(image_size=64, ngf=4, ndf=4),
}


def test_contract_registry_and_configs_do_not_load_tensorflow() -> None:
    code = textwrap.dedent("""
        import json, sys
        import gans.config, gans.contract, gans.errors, gans.registry
        import gans.configs.cgan, gans.configs.dcgan, gans.configs.keras_gan, gans.configs.mlp_gan
        import gans.configs.pix2pix
        records = {n: gans.registry.declaration(n).record(gans.registry.declaration(n).config_type().validate())
                   for n in gans.registry.model_names()}
        loaded = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
        print(json.dumps({"loaded": loaded, "kinds": {n: r["kind"] for n, r in records.items()}}))
    """)
    out = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                    text=True).stdout)
    assert out == {"loaded": [], "kinds": {"cgan": "conditional", "dcgan": "unconditional",
                                           "keras-gan": "unconditional", "mlp-gan": "unconditional",
                                           "pix2pix": "image-to-image"}}


def test_signature_round_trips_through_json_and_finds_inputs_by_name() -> None:
    signature = registry.declaration("cgan").signature(TINY["cgan"])
    assert Signature.from_dict(json.loads(json.dumps(signature.to_dict()))) == signature
    assert signature.input_names == ("z", "label")
    assert signature.input("label") == TensorField("label", "int32", (None,))
    with pytest.raises(KeyError, match=r"\['z', 'label'\]"):
        signature.input("image")
    with pytest.raises(ValueError, match="dtype"):
        TensorField("z", "float64", (None, 3))


def test_records_say_what_a_generate_or_translate_job_takes() -> None:
    records = {name: registry.declaration(name).record(config) for name, config in TINY.items()}
    assert {k: records["dcgan"][k] for k in ("kind", "image_size", "channels", "z_dim")} == {
        "kind": "unconditional", "image_size": 32, "channels": 3, "z_dim": 8}
    assert (records["keras-gan"]["z_dim"], records["keras-gan"]["channels"]) == (8, 1)  # latent_dim
    assert records["mlp-gan"]["signature"]["outputs"] == [
        {"name": "images", "dtype": "uint8", "shape": [None, 12, 12, 1]}]
    assert (records["cgan"]["kind"], records["cgan"]["classes"]) == ("conditional", ["a", "b", "c"])
    assert records["pix2pix"]["z_dim"] is None and "classes" not in records["pix2pix"]
    assert records["pix2pix"]["signature"]["inputs"] == [
        {"name": "image", "dtype": "uint8", "shape": [None, 64, 64, 3]}]


@pytest.mark.parametrize("name", sorted(TINY))
def test_every_config_field_is_declared_and_its_defaults_pass_their_bounds(name: str) -> None:
    config_type = registry.declaration(name).config_type
    undeclared = [f.name for f in dataclasses.fields(config_type) if PARAM not in f.metadata]
    assert undeclared == []
    params = {p.name: p for p in params_of(config_type)}
    assert "jit_compile" not in params and "seed" in params
    assert all(p.type in (int, float, bool, str) for p in params.values())
    check_params(config_type())


def test_bounds_are_checked_from_the_declaration_and_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"quality_samples must be an integer in \[16, 10000\], got 8"):
        DCGANConfig(quality_samples=8).validate()
    with pytest.raises(ConfigError, match="max_steps must be an integer or null"):
        DCGANConfig(max_steps=2.5).validate()
    assert DCGANConfig(max_steps=None, ema_decay=0.999).validate().ema_decay == 0.999


def test_domain_errors_are_not_value_errors() -> None:
    for error in (ConfigError, DatasetError, TrainingDiverged):
        assert issubclass(error, GanError) and not issubclass(error, ValueError)
    from gans.guard import TrainingDiverged as from_guard

    assert from_guard is TrainingDiverged


def test_spec_and_declaration_agree_for_every_model() -> None:
    for name in registry.model_names():
        spec = registry.get_spec(name)
        assert spec.declaration is registry.declaration(name)
        assert (spec.name, spec.config_type) == (name, spec.declaration.config_type)


@pytest.mark.parametrize("name", sorted(TINY))
def test_export_serves_exactly_the_declared_signature(name: str, tmp_path: Path) -> None:
    spec, config = registry.get_spec(name), TINY[name]
    spec.export(spec.build(config), config, tmp_path / "export", {"step": 0})
    serve = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    inputs = serve.structured_input_signature[1]
    found = Signature(
        inputs=tuple(TensorField(n, inputs[n].dtype.name, tuple(inputs[n].shape.as_list()))
                     for n in spec.declaration.signature(config).input_names),
        outputs=tuple(TensorField(n, s.dtype.name, tuple(s.shape.as_list()))
                      for n, s in sorted(serve.structured_outputs.items())))
    assert set(inputs) == set(found.input_names)
    assert found == spec.declaration.signature(config)
    metadata = read_metadata(tmp_path / "export")
    assert metadata["model"] == name and metadata["step"] == 0
    assert metadata["signature"] == spec.declaration.signature(config).to_dict()
    assert metadata["kind"] == str(spec.declaration.kind)


def test_unknown_model_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="unknown model 'gan9'; choose one of cgan, dcgan, keras-gan"):
        registry.declaration("gan9")
    with pytest.raises(KeyError, match="unknown model 'gan9'"):
        registry.get_spec("gan9")


FIXTURE_DECLARATION = '''
import dataclasses
from gans.configs.cgan import DECLARATION as CGAN

DECLARATION = dataclasses.replace(CGAN, name="tiny-cgan", summary="a test's conditional GAN")
'''
FIXTURE_SPEC = '''
import dataclasses
from gans.cgan import SPEC as CGAN
from tiny_cgan_declaration import DECLARATION

SPEC = dataclasses.replace(CGAN, declaration=DECLARATION)
'''


def test_a_model_defined_outside_gans_plugs_in_by_registering(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tiny_cgan_declaration.py").write_text(FIXTURE_DECLARATION)
    (tmp_path / "tiny_cgan_spec.py").write_text(FIXTURE_SPEC)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("tiny-cgan", declaration_module="tiny_cgan_declaration", spec_module="tiny_cgan_spec")
    registry.register("not-yet", declaration_module="no_such_module", spec_module="no_such_module")
    try:
        assert {"tiny-cgan", "not-yet"} <= set(registry.model_names())  # registering imports nothing
        declaration = registry.declaration("tiny-cgan")
        assert (declaration.name, declaration.kind) == ("tiny-cgan", ModelKind.CONDITIONAL)
        assert registry.get_spec("tiny-cgan").name == "tiny-cgan"
        config = registry.make_config(declaration, {"class_names": ["x", "y"], "epochs": 2, "unknown": 1})
        assert (config.class_names, config.epochs) == (("x", "y"), 2)
        with pytest.raises(ModuleNotFoundError):
            registry.declaration("not-yet")
    finally:
        registry.unregister("tiny-cgan")
        registry.unregister("not-yet")
    assert "tiny-cgan" not in registry.model_names()
