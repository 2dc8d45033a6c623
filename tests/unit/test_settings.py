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


def test_serving_bind_and_the_clients_address_are_separate_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATGAN_SERVING_BIND", raising=False)
    monkeypatch.delenv("CATGAN_SERVING_ADDRESS", raising=False)
    defaults = Settings()
    assert (defaults.serving_bind, defaults.serving_address) == ("127.0.0.1:8500", "127.0.0.1:8500")  # loopback
    monkeypatch.setenv("CATGAN_SERVING_BIND", "10.0.0.5:8500")
    monkeypatch.setenv("CATGAN_SERVING_ADDRESS", "gpu-box.internal:8500")
    settings = Settings()
    assert (settings.serving_bind, settings.serving_address) == ("10.0.0.5:8500", "gpu-box.internal:8500")
    assert Settings(serving_bind="[::1]:8500").serving_bind == "[::1]:8500"


@pytest.mark.parametrize("bind", ["8500", "localhost", "localhost:", "http://x:8500", "a b:8500", "[::1]8500"])
def test_a_serving_bind_that_is_not_host_port_is_refused(bind: str) -> None:
    with pytest.raises(ValueError, match="serving_bind"):
        Settings(serving_bind=bind)
