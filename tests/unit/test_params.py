import pytest

from core.errors import InvalidInput
from core.params import resolve_train_params


def test_defaults_are_the_catdcgan_recipe_and_a_seed_is_drawn() -> None:
    params = resolve_train_params("dcgan", {})
    assert params["lr_d"] == 5e-5 and params["lr_g"] == 2e-4 and params["beta1"] == 0.5
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
