"""The README stays true: every setting is in its configuration table, every train param in its table."""

from pathlib import Path

from core.params import train_models, train_schema
from core.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`CATGAN_{name.upper()}`" in README, name


def test_every_model_and_param_is_documented() -> None:
    for model in train_models():
        assert f"`{model}`" in README, model
        for name in train_schema(model)().fields:
            assert f"`{name}`" in README, f"{model}.{name}"
