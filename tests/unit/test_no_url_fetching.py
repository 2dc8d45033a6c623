"""No URL is ever fetched: the service's code imports no HTTP client and downloads no weights.

A request can name a dataset id, a model version or a server-side folder, never a URL; this keeps it so
(SSRF). Only `catgan/` — the user's CLI and HTTP client — may speak HTTP. The scan reads the source, so a
fetch hidden in a rarely run branch is caught too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = ("api", "core", "worker", "serving", "gans")
HTTP_CLIENTS = ("requests", "httpx", "urllib.request", "urllib3", "http.client", "aiohttp", "pycurl",
                "tornado.httpclient")
DOWNLOADERS = ("get_file", "urlopen", "urlretrieve")  # keras.utils.get_file, urllib's
# The one exemption: webhook deliveries POST to a job's URL, and only after core.webhook_targets vetted its host
# against CATGAN_WEBHOOK_ALLOWED_HOSTS and pinned the resolved address (tests/integration/test_webhooks.py).
EXEMPT = {"worker/webhook_http.py"}


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in HTTP_CLIENTS)


def _violations(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, f"import {a.name}") for a in node.names if _forbidden(a.name))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]  # from urllib import request
            if any(_forbidden(name) for name in names):
                yield node.lineno, f"from {node.module} import ..."
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            literal = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if name in ("import_module", "__import__") and isinstance(literal, str) and _forbidden(literal):
                yield node.lineno, f"{name}({literal!r})"
            if name in DOWNLOADERS:
                yield node.lineno, f"{name}(...)"
            if any(k.arg == "weights" and isinstance(k.value, ast.Constant) and k.value.value == "imagenet"
                   for k in node.keywords):
                yield node.lineno, "weights='imagenet' (keras downloads them)"


def test_the_scan_catches_what_it_looks_for() -> None:
    source = ("import requests\nimport urllib.request as r\nfrom urllib import request\nfrom httpx import get\n"
              "import importlib\nimportlib.import_module('requests')\nkeras.utils.get_file('x', 'http://e')\n"
              "keras.applications.InceptionV3(weights='imagenet')\nimport urllib.parse\nfrom catgan import client\n")
    assert [line for line, _ in _violations(ast.parse(source))] == [1, 2, 3, 4, 6, 7, 8]


def test_the_exempt_module_exists_and_is_the_only_one() -> None:
    assert [p for p in EXEMPT if (ROOT / p).is_file()] == sorted(EXEMPT)


def test_service_code_never_fetches_a_url() -> None:
    found = []
    for package in SERVICE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in EXEMPT:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _violations(tree)]
    assert found == [], "service code may not fetch URLs:\n" + "\n".join(found)
