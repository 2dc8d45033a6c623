import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from core.errors import InvalidInput
from core.params import MIN_SAMPLE_EVERY_STEPS, resolve_train_params, train_models, train_schema
from gans.configs import dcgan
from gans.configs.dcgan import DCGANConfig
from gans.contract import ModelDeclaration, ModelKind, param, params_of
from gans.registry import declaration, register, unregister


def test_defaults_leave_the_net_to_the_profile_and_a_seed_is_drawn() -> None:
    params = resolve_train_params("dcgan", {})
    assert params["profile"] == "auto" and params["max_minutes"] is None  # the worker's devices pick cpu or gpu
    assert params["lr_d"] is None and params["g_filters"] is None and params["beta1"] == 0.5
    assert params["label_smoothing"] == 0.9 and params["batch_size"] == 64 and params["z_dim"] == 100
    assert isinstance(params["seed"], int) and 0 <= params["seed"] < 2**31


def test_given_values_are_kept() -> None:
    params = resolve_train_params("dcgan", {"image_size": 32, "epochs": 3, "seed": 7, "lr_d": 1})
    assert (params["image_size"], params["epochs"], params["seed"], params["lr_d"]) == (32, 3, 7, 1.0)


@pytest.mark.parametrize("params,field", [
    ({"epochs": "2"}, "epochs"), ({"epochs": 2.5}, "epochs"), ({"epochs": 0}, "epochs"),
    ({"image_size": 48}, "image_size"), ({"lr_d": 0}, "lr_d"), ({"lr_g": "0.1"}, "lr_g"),
    ({"beta1": 1.0}, "beta1"), ({"label_smoothing": 1.5}, "label_smoothing"), ({"bogus": 1}, "bogus"),
    ({"diffaugment": "yes"}, "diffaugment"), ({"batch_size": 10**9}, "batch_size"), ({"seed": -1}, "seed"),
])
def test_bad_values_name_the_field(params: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_train_params("dcgan", params)
    assert list(info.value.fields["params"]) == [field]
    assert f"params.{field}" in info.value.message


def test_unknown_model() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_train_params("stylegan9", {})
    assert info.value.code == "unknown_model" and "dcgan" in info.value.message


# --- one source of truth: the API's schema is derived from the model's config ---------------------------------

@dataclass(frozen=True, kw_only=True)
class PlusConfig(DCGANConfig):
    """DCGAN with one param more, declared only here: the API must take it with no other change."""

    knob: int = param(3, min=1, max=5, doc="a param added to a config")


DECLARATION = ModelDeclaration(name="dcgan-plus", kind=ModelKind.UNCONDITIONAL, config_type=PlusConfig,
                               summary="dcgan with a knob", signature=dcgan.DECLARATION.signature)


@pytest.fixture
def plus_model() -> Iterator[str]:
    register("dcgan-plus", declaration_module=__name__, spec_module="gans.dcgan")
    yield "dcgan-plus"
    unregister("dcgan-plus")


def test_a_param_added_to_a_config_is_validated_with_its_declared_default_bounds_and_doc(plus_model: str) -> None:
    assert plus_model in train_models()
    assert resolve_train_params(plus_model, {})["knob"] == 3
    assert resolve_train_params(plus_model, {"knob": 5})["knob"] == 5
    with pytest.raises(InvalidInput) as info:
        resolve_train_params(plus_model, {"knob": 6})
    assert info.value.fields == {"params": {"knob": ["Must be greater than or equal to 1 and less than or equal to 5."]}}
    assert train_schema(plus_model)().fields["knob"].metadata["description"] == "a param added to a config"


@pytest.mark.parametrize("model", ["dcgan", "keras-gan", "mlp-gan", "cgan", "pix2pix"])
def test_defaults_are_the_configs_and_make_a_valid_config(model: str) -> None:
    config_type = declaration(model).config_type
    resolved = resolve_train_params(model, {"seed": 0})
    declared = {info.name: info.default for info in params_of(config_type)}
    assert resolved == declared  # every user param, none of the internal fields (jit_compile, class_names)
    config_type(**resolved).validate()


def test_the_house_floor_on_sample_sheets_holds_for_every_model() -> None:
    for model in train_models():
        with pytest.raises(InvalidInput) as info:
            resolve_train_params(model, {"sample_every_steps": MIN_SAMPLE_EVERY_STEPS - 1})
        assert list(info.value.fields["params"]) == ["sample_every_steps"], model


@pytest.mark.parametrize(("model", "params", "field"), [
    ("dcgan", {"image_size": 128, "g_filters": 1000}, "g_filters"),  # halves 4 times: divisible by 16
    ("pix2pix", {"source": "edges", "direction": "BtoA"}, "direction"),
])
def test_the_configs_cross_field_rules_are_422_on_the_field(model: str, params: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_train_params(model, params)
    assert list(info.value.fields["params"]) == [field]
    assert info.value.message.startswith(f"params.{field}: {field} must")


def test_resolving_every_models_params_loads_no_tensorflow() -> None:
    code = ("import sys; from core.params import resolve_train_params, train_models; "
            "[resolve_train_params(m, {}) for m in train_models()]; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
