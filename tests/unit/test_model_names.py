"""Model names: one rule (core.names), slugs of hostile text, paths that stay in the repository, and a
models.config that TF Serving's own proto parses whatever the names and paths hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from core.errors import InvalidInput
from core.names import check_model_name, derived_model_name, is_model_name, slug_model_name
from core.serving_config import ServedModel, render_models_config
from serving.repository import ModelRepository

HOSTILE = ["../../../escaped", 'a"b', "C:\\Users\\me\\cats", "cats\n", "..", ".", ".hidden", "-rf", "Cats Äöü 猫",
           "x" * 500, "", "///", "a/../../b", "tab\there", "\x00nul", "café" * 40]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_derived_name_satisfies_the_rule_whatever_the_text(text: str) -> None:
    slug = slug_model_name(text)
    assert is_model_name(slug) and len(slug) <= 100 and slug not in {".", ".."} and not slug.startswith(".")
    assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    assert check_model_name(slug) == slug


def test_slugs_keep_what_they_can() -> None:
    assert derived_model_name("dcgan", "../../../escaped") == "dcgan-escaped"
    assert derived_model_name("dcgan", 'a"b') == "dcgan-a-b"
    assert derived_model_name("dcgan", "My Cats v1.2") == "dcgan-my-cats-v1.2"
    assert derived_model_name("dcgan", "Kätzchen") == "dcgan-katzchen"
    assert derived_model_name("dcgan", "x" * 300) == "dcgan-" + "x" * 94
    assert derived_model_name("alice", derived_model_name("dcgan", "y" * 300)) == "alice-dcgan-" + "y" * 88
    assert slug_model_name("猫") == "model"


@pytest.mark.parametrize("name", [*HOSTILE, "a" * 101, "Cats", "cats/1"])
def test_a_given_name_that_breaks_the_rule_is_refused_with_the_rule(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_model_name(name)
    assert raised.value.code == "invalid_model_name"
    assert "1-100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit" in raised.value.message
    assert list(raised.value.fields) == ["model_name"]


@pytest.mark.parametrize("name", ["cats", "a", "0", "dcgan-my-cats-v1.2", "a_b.c-d", "z" * 100])
def test_good_names_pass(name: str) -> None:
    assert check_model_name(name) == name


@pytest.mark.parametrize("name", ["../../../escaped", "..", "a/../../b", "/etc", "Cats", "a\nb"])
def test_no_repository_path_is_built_from_a_bad_name(tmp_path: Path, name: str) -> None:
    repo = ModelRepository(tmp_path / "models")
    with pytest.raises(InvalidInput):
        repo.version_dir(name, 1)
    with pytest.raises(InvalidInput):
        repo.publish(name, 1, lambda d: d.mkdir(parents=True))
    with pytest.raises(InvalidInput):
        repo.versions(name)
    assert list(tmp_path.rglob("*")) == []  # refused before anything was made


def test_the_repository_path_check_refuses_a_name_folder_that_links_out(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "models" / "cats")  # planted by someone with disk access
    with pytest.raises(ValueError, match="escapes"):
        ModelRepository(tmp_path / "models").version_dir("cats", 1)


def test_a_version_is_a_positive_integer(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    for version in (0, -1, True):
        with pytest.raises(ValueError):
            repo.version_dir("cats", version)


STRINGS = ['a"b', "back\\slash", "new\nline", "猫 über", 'x" } config { name: "evil', "tab\t\r\x01"]


@pytest.mark.parametrize("text", STRINGS)
def test_models_config_parses_with_tf_serving_s_proto_whatever_the_names_and_paths(tmp_path: Path, text: str) -> None:
    base = Path(f"/srv/{text}/models")
    models = [ServedModel(text, None, (("stable", 1),)), ServedModel("cats", (1, 2), ((f"l{text}", 2),))]
    parsed = text_format.Parse(render_models_config(base, models), model_server_config_pb2.ModelServerConfig())
    entries = parsed.model_config_list.config
    assert [e.name for e in entries] == [text, "cats"]  # one entry each: nothing injected
    assert [e.base_path for e in entries] == [str(base / text), str(base / "cats")]
    assert dict(entries[0].version_labels) == {"stable": 1} and dict(entries[1].version_labels) == {f"l{text}": 2}
    assert entries[0].model_version_policy.HasField("all")
    assert list(entries[1].model_version_policy.specific.versions) == [1, 2]
