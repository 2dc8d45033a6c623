"""The README stays true: every setting is in its configuration table, every train param in its table."""

from pathlib import Path

from core.params import DCGANParams
from core.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`CATGAN_{name.upper()}`" in README, name


def test_every_dcgan_param_is_documented() -> None:
    for name in DCGANParams().fields:
        assert f"`{name}`" in README, name
