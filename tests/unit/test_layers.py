"""The layers of DESIGN.md hold: the import-linter contracts in pyproject.toml pass, and they do bite.

`.ci/run` runs `lint-imports` before pytest too (a clear, early failure in CI); this test makes a broken
layer fail a local `pytest` run as well, and proves each contract catches the import it forbids — direct or
through another module — by linting a copy of the code with one bad import added.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("catgan", "api", "worker", "serving", "gans", "core", "migrations")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the code under ROOT with its pyproject.toml (no cache: a copy must be read afresh)."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)


def _copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """Copy the packages and pyproject.toml to TMP_PATH, appending LINE to MODULE's file."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    return tmp_path


def test_layer_contracts_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout and "kept" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    # core reaching TensorFlow breaks core's contract and, through it, api's and migrations'
    ("core.errors", "import tensorflow", ["core is not allowed to import tensorflow",
                                           "api is not allowed to import tensorflow",
                                           "migrations is not allowed to import tensorflow"]),
    ("core.states", "from flask import Flask", ["core is not allowed to import flask"]),
    ("core.queue", "from worker import tasks", ["core is not allowed to import worker"]),
    ("api.app", "from worker.app import app", ["api is not allowed to import worker"]),
    ("api.app", "import keras", ["api is not allowed to import keras"]),
    ("api.app", "from serving.repository import ModelRepository", ["api is not allowed to import serving"]),
    # api reads models through core only: a direct gans import bites even of a TF-free gans module
    ("api.app", "from gans.contract import ModelKind", ["api is not allowed to import gans"]),
    # core may read the TF-free contract, but not a TF-bearing gans module (that would load TensorFlow too)
    ("core.params", "from gans import dcgan", ["core is not allowed to import gans",
                                               "core is not allowed to import tensorflow",
                                               "api is not allowed to import tensorflow"]),
    # a TF-free contract module reaching TensorFlow, even through another gans module, breaks it (core loads the
    # declaration modules by name through the registry, so this contract is what keeps them light)
    ("gans.configs.cgan", "from gans import grid", ["gans.configs is not allowed to import tensorflow"]),
    ("gans.errors", "from gans import grid", ["gans.errors is not allowed to import tensorflow",
                                              "core is not allowed to import tensorflow",
                                              "api is not allowed to import tensorflow"]),
    ("gans.contract", "import numpy", ["gans.contract is not allowed to import numpy"]),
    ("gans.grid", "from core.settings import Settings", ["gans is not allowed to import core"]),
    ("gans.registry", "from core.settings import Settings", ["gans is not allowed to import core"]),
    ("serving.latents", "from worker import bulk", ["serving is not allowed to import worker"]),
    ("worker.bulk", "from catgan import client", ["worker is not allowed to import catgan"]),
    ("worker.bulk", "from api import app", ["worker is not allowed to import api"]),
])
def test_contracts_catch_a_forbidden_import(tmp_path: Path, module: str, line: str, broken: list[str]) -> None:
    result = _lint(_copy_with(tmp_path, module, line))
    assert result.returncode == 1, result.stdout + result.stderr
    for message in broken:
        assert message in result.stdout, result.stdout
