"""Each role installs what its code imports, and only that: the extras of pyproject.toml and the locks agree.

The API's lock has no TensorFlow and no CUDA, the client's has no server packages; every lock line carries
hashes and every direct pin of a role is locked at its pinned version (a pin changed without re-locking with
`bash requirements/compile.sh` fails here). The code is read with `ast`: every package a role's modules
import (outside `if TYPE_CHECKING:`) must come from a distribution in that role's lock.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"catgan", "api", "worker", "serving", "gans", "core", "migrations"}
# lock file → the extras it installs
LOCKS = {"lock.txt": ["test"], "api.txt": ["api"], "client.txt": ["client"], "worker.txt": ["worker"],
         "worker-gpu.txt": ["gpu", "flower"]}
CLI = ROOT / "catgan" / "cli.py"
# lock → (files whose every import it must satisfy, files whose module-level imports it must satisfy,
# followed through our own modules)
ROLE_CODE = {
    "api.txt": (["api", "core", "migrations", "catgan/wsgi.py"], [CLI]),
    "worker.txt": (["worker", "serving", "gans", "core"], [CLI]),
    "client.txt": (["catgan/client.py", "catgan/client_errors.py"], [CLI]),
}
# OpenCV is not here: the API finds cat faces in uploaded photos (core.faces), with the headless wheel
HEAVY = re.compile(r"^(tensorflow|keras|tensorboard|nvidia-|jax|tensorflow-serving-api)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(extras: Iterable[str]) -> dict[str, str]:
    """Direct pins (name → version) of the base dependencies and EXTRAS, following `catgan[...]` references."""
    pins: dict[str, str] = {}
    todo, seen = list(extras), set()
    requirements = list(_project()["dependencies"])
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in _project()["optional-dependencies"][extra]:
            if match := re.fullmatch(r"catgan\[([\w,-]+)\]", requirement):
                todo.extend(match.group(1).split(","))
            else:
                requirements.append(requirement)
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        assert version, f"{requirement}: pyproject.toml pins every direct dependency exactly"
        pins[_canonical(name.split("[")[0])] = version.strip()
    return pins


@cache
def _locked(lock: str) -> dict[str, str]:
    """Name → version of every package in requirements/LOCK."""
    text = (ROOT / "requirements" / lock).read_text()
    return {_canonical(m.group(1)): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", text, re.MULTILINE)}


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_each_lock_holds_its_roles_pins_with_hashes(lock: str, extras: list[str]) -> None:
    locked = _locked(lock)
    for name, version in _pins(extras).items():
        assert locked.get(name) == version, f"{lock}: {name} is {locked.get(name)}, pyproject pins {version}"
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text().split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if entry.strip()), f"{lock}: a line without hashes"


def test_the_api_and_client_locks_carry_no_tensorflow_or_cuda() -> None:
    for lock in ("api.txt", "client.txt"):
        assert not [name for name in _locked(lock) if HEAVY.match(name)], lock
    assert {"tensorflow", "nvidia-cudnn-cu12"} <= set(_locked("worker-gpu.txt"))
    assert not [name for name in _locked("lock.txt") if name.startswith("nvidia-")], "CI installs no CUDA"


def test_the_client_lock_has_no_server_packages() -> None:
    assert not {"flask", "celery", "sqlalchemy", "alembic", "pillow", "numpy"} & set(_locked("client.txt"))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, *, module_level: bool) -> Iterator[str]:
    """Absolute module names imported by TREE, skipping `if TYPE_CHECKING:` blocks (and function bodies)."""
    body = tree.body if isinstance(tree, ast.Module) else []
    nodes = list(body) if module_level else [tree]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            nodes.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        if module_level:
            if isinstance(node, ast.If | ast.Try | ast.With):
                nodes.extend(ast.iter_child_nodes(node))
        else:
            nodes.extend(ast.iter_child_nodes(node))


def _file_of(module: str) -> Path | None:
    base = ROOT / module.replace(".", "/")
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _external_imports(everything: list[str], module_level: list[Path]) -> set[str]:
    """External modules imported anywhere in EVERYTHING, or at module level from MODULE_LEVEL and what it loads."""
    found: set[str] = set()
    files = [p for entry in everything for p in ((ROOT / entry).rglob("*.py") if (ROOT / entry).is_dir()
                                                  else [ROOT / entry])]
    for path in files:
        found.update(_imports(ast.parse(path.read_text()), module_level=False))
    todo, seen = list(module_level), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imports(ast.parse(path.read_text()), module_level=True):
            if module.split(".")[0] in OURS:
                todo.extend(p for p in (_file_of(module), _file_of(module.rpartition(".")[0])) if p)
            else:
                found.add(module)
    return {m for m in found if m.split(".")[0] not in OURS and m.split(".")[0] not in sys.stdlib_module_names}


@cache
def _installed() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions_of(module: str) -> set[str]:
    """The installed distributions providing MODULE (for namespaces such as `google`, the one holding it)."""
    candidates = _installed().get(module.split(".")[0], [])
    if len(candidates) <= 1 or "." not in module:
        return {_canonical(c) for c in candidates}
    prefix = module.replace(".", "/") + "/"
    return {_canonical(c) for c in candidates
            if any(str(f).startswith(prefix) or str(f) == prefix[:-1] + ".py" for f in distribution(c).files or [])}


@pytest.mark.parametrize("lock", ROLE_CODE)
def test_each_roles_lock_provides_what_its_code_imports(lock: str) -> None:
    everything, module_level = ROLE_CODE[lock]
    missing = {}
    for module in sorted(_external_imports(everything, module_level)):
        providers = _distributions_of(module)
        if not providers & set(_locked(lock)):
            missing[module] = sorted(providers) or "not installed here"
    assert not missing, f"imported by the code of {lock} but not in it: {missing}"


def test_every_install_uses_a_lock_with_hashes() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q --require-hashes -r requirements/lock.txt" in ci and "--no-deps -e ." in ci
    assert "lint-imports" in ci.split("pytest")[0], ".ci/run checks the layers before the tests"
    readme = (ROOT / "README.md").read_text()
    assert "pip install --require-hashes -r requirements/lock.txt && .venv/bin/pip install --no-deps -e ." in readme
    stages = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    stage = {block.split()[2]: block for block in stages[1:]}
    assert "--require-hashes -r /tmp/requirements.txt" in stage["api"] and "requirements/api.txt" in stage["api"]
    assert "requirements/worker-gpu.txt" in stage["worker"] and "--require-hashes" in stage["worker"]
    assert "pip install --no-deps ." in stage["api"] and "pip install --no-deps ." in stage["worker"]


def test_compose_builds_the_api_image_without_tensorflow_for_the_api() -> None:
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())["services"]
    targets = {name: svc["build"]["target"] for name, svc in services.items() if "build" in svc}
    assert targets == {"api": "api", "migrate": "api", "sweeper": "api", "worker-train": "worker",
                       "worker-generate": "worker", "worker-webhooks": "worker", "flower": "worker"}
    images = {services[name]["image"] for name in targets}
    assert len(images) == 2, "one image name per target"
