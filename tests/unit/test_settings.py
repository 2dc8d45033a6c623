from pathlib import Path

import pytest

from core.settings import Settings


def test_defaults_live_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h")
    home = (tmp_path / "h").resolve()
    assert settings.db_url == f"sqlite:///{home / 'catgan.db'}"
    assert settings.broker_url == f"redis+socket://{home / 'redis.sock'}"
    assert settings.uses_embedded_redis
    assert (settings.artifact_dir, settings.model_repository) == (home / "artifacts", home / "models")


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATGAN_HOME", str(tmp_path))
    monkeypatch.setenv("CATGAN_REDIS_URL", "redis://example:6379/0")
    monkeypatch.setenv("CATGAN_ALLOW_LOCAL_PATHS", "false")
    settings = Settings()
    assert settings.home == tmp_path.resolve()
    assert settings.broker_url == "redis://example:6379/0" and not settings.uses_embedded_redis
    assert settings.allow_local_paths is False


def test_invalid_values_are_refused() -> None:
    with pytest.raises(ValueError):
        Settings(max_upload_bytes=0)
