"""Pieces of access control that need no services: owner names, the limiter's storage URI and limit syntax."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask import Flask

from api.ratelimit import install_rate_limit, storage_uri
from core.errors import InvalidInput
from core.services.keys import hash_token
from core.services.owners import validate_owner, visible
from core.settings import Settings


@pytest.mark.parametrize("name", ["alice", "a", "team-7.cats_v2", "0" * 100])
def test_valid_owner_names(name: str) -> None:
    assert validate_owner(name) == name


@pytest.mark.parametrize("name", ["", "Alice", "-alice", ".x", "a b", "a/b", "a" * 101, "ålice"])
def test_invalid_owner_names(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_owner(name)
    assert raised.value.code == "invalid_owner"


def test_visibility_of_rows() -> None:
    assert visible("alice", "alice") and visible("bob", None) and not visible("bob", "alice")


def test_tokens_are_stored_as_sha256() -> None:
    assert hash_token("cg_x") == hashlib.sha256(b"cg_x").hexdigest()
    assert hash_token("cg_x") != hash_token("cg_y")


def test_limits_storage_uri_of_the_broker() -> None:
    assert storage_uri("redis+socket:///var/catgan/redis.sock") == "redis+unix:///var/catgan/redis.sock"
    assert storage_uri("redis://10.0.0.5:6379/2") == "redis://10.0.0.5:6379/2"


def test_a_malformed_rate_limit_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lots"):
        install_rate_limit(Flask("t"), Settings(home=tmp_path, rate_limit="lots"))
