"""models.config as TF Serving reads it: version policies, labels, version folders, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format

from serving.model_config import parse_models_config, served_versions


def config(*entries: str) -> str:
    return "model_config_list {\n" + "".join(f"  config {{ {entry} }}\n" for entry in entries) + "}\n"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base path with versions 1, 2, 3 and 10, plus folders and files TF Serving ignores."""
    for name in ("1", "2", "3", "10", ".staging", "latest"):
        (tmp_path / "cats" / name).mkdir(parents=True)
    (tmp_path / "cats" / "11").write_text("a file, not a version folder")
    return tmp_path / "cats"


@pytest.mark.parametrize(("policy", "served"), [
    ("", [10]),  # no policy: TF Serving's default, the newest version only
    ("model_version_policy { latest {} }", [10]),  # num_versions 0 still means one
    ("model_version_policy { latest { num_versions: 2 } }", [3, 10]),
    ("model_version_policy { all {} }", [1, 2, 3, 10]),
    ("model_version_policy { specific { versions: 2 versions: 7 } }", [2]),  # 7 is not on disk
])
def test_policies_choose_versions_among_the_folders(base: Path, policy: str, served: list[int]) -> None:
    entries = parse_models_config(config(f'name: "cats" base_path: "{base}" model_platform: "tensorflow" {policy}'))
    assert sorted(served_versions(entries["cats"])) == served
    assert all(path == base / str(v) for v, path in served_versions(entries["cats"]).items())


def test_labels_and_the_container_path_map(base: Path) -> None:
    text = config('name: "cats" base_path: "/models/cats" version_labels { key: "stable" value: 2 } '
                  'version_labels { key: "canary" value: 3 }')
    entry = parse_models_config(text, path_map=(Path("/models"), base.parent))["cats"]
    assert entry.labels == {"stable": 2, "canary": 3}
    assert entry.base_path == base
    assert parse_models_config(text)["cats"].base_path == Path("/models/cats")  # no map: as written


def test_empty_and_missing_things_serve_nothing(tmp_path: Path) -> None:
    assert parse_models_config("") == {}
    assert parse_models_config("model_config_list {}") == {}
    entry = parse_models_config(config(f'name: "gone" base_path: "{tmp_path / "nowhere"}"'))["gone"]
    assert served_versions(entry) == {}


@pytest.mark.parametrize(("text", "error"), [
    (config('name: "a" base_path: "/x"', 'name: "a" base_path: "/y"'), "Illegal to list model a multiple times"),
    (config('name: "a" base_path: "/x" model_platform: "onnx"'), "unsupported model_platform 'onnx'"),
    (config('name: "a"'), "needs a name and a base_path"),
    ('custom_model_config { type_url: "x" }', "custom_model_config is not supported"),
])
def test_refuses_configs_tf_serving_refuses(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_models_config(text)


def test_refuses_text_that_is_not_a_model_server_config() -> None:
    with pytest.raises(text_format.ParseError):
        parse_models_config("model_config_list { config { nme: 1 } }")
