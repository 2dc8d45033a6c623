"""Take the README's dashboard screenshots from a real run on the real cat faces.

    python scripts/dashboard_screenshots.py [--minutes 8] [--out docs/screenshots]

Starts the whole service as `catgan up` does (catgan/stack.py: embedded Redis, SQLite, the API, `catgan
serving`, a worker) in a temporary home, uploads ../shared/data/cat-faces-64 (zipped to a temporary file,
never into the repository), trains a dcgan (`profile: cpu`, 32 px, `max_minutes`), then a second, shorter
run with a slower generator learning rate, generates 64 cats from the first model on its page, and shoots
each page with Debian's chromium through Playwright: jobs.png, job-running.png (the live page mid-run),
job.png, compare.png, model.png, datasets.png. About `--minutes` + 4 minutes on two cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catgan.client import CatganClient  # noqa: E402
from catgan.quickstart import quickstart_params  # noqa: E402
from catgan.stack import LocalStack  # noqa: E402
from core.settings import Settings  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "cat-faces-64"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
TERMINAL = {"succeeded", "failed", "cancelled"}
# SWD every 10 epochs (an epoch of the 2,102 training faces is ~33 steps at batch 64) draws a curve, not a dot.
EXTRA = {"swd_every_epochs": 10}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget of the first run")
    parser.add_argument("--second-minutes", type=float, default=2.0, help="training budget of the second run")
    parser.add_argument("--data", type=Path, default=DATA, help="a folder of cat faces")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--home", type=Path, help="keep the service's state and logs here (default: a temporary folder)")
    return parser.parse_args()


def wait_for(client: CatganClient, job_id: int, until: float | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Poll a job until it ends, or until its progress fraction reaches `until`; say how it goes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.job(job_id)
        fraction = (job["progress"] or {}).get("fraction") or 0.0
        print(f"\r  job {job_id}: {job['status']} {fraction:5.0%}", end="", flush=True)
        if job["status"] in TERMINAL or (until is not None and fraction >= until):
            print()
            return job
        time.sleep(3)
    raise TimeoutError(f"job {job_id} did not get there in {timeout} s")


def finished(client: CatganClient, job_id: int) -> dict[str, Any]:
    """The job once it ended, which must be a success."""
    job = wait_for(client, job_id)
    if job["status"] != "succeeded":
        raise SystemExit(f"job {job_id} {job['status']}: {job.get('error')}")
    return job


class Shooter:
    """One browser tab signed in to the dashboard; full-page screenshots into `out`."""

    def __init__(self, playwright: Any, base_url: str, out: Path) -> None:
        self.out = out
        self.browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=BROWSER_ARGS)
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=base_url)
        self.page = context.new_page()
        self.page.set_default_timeout(60_000)

    def sign_in(self, token: str | None) -> None:
        self.page.goto("/")
        if token and "/ui/sign-in" in self.page.url:
            self.page.fill("input[name=api_key]", token)
            self.page.click("button[type=submit]")
        self.page.wait_for_selector("#job-rows")

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function("Array.from(document.images).every((i) => i.hidden || i.complete)")
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"  wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def job(self, job_id: int, name: str) -> None:
        """The job's page once its sheet and both charts are drawn."""
        self.page.goto(f"/ui/jobs/{job_id}")
        self.page.wait_for_function("document.querySelector('#sheet').naturalWidth > 0")
        self.page.wait_for_function("document.querySelector('#loss-chart path') !== null")
        self.page.wait_for_function("document.querySelector('#swd-chart path, #swd-chart circle') !== null")
        self.shot(name)

    def jobs_and_compare(self, first: int, second: int) -> None:
        self.page.goto("/ui/jobs")
        self.page.wait_for_selector(f"input.pick[value='{second}']")
        self.page.check(f"input.pick[value='{first}']")
        self.page.check(f"input.pick[value='{second}']")
        self.shot("jobs")
        self.page.click("#compare")
        self.page.wait_for_url("**/ui/compare?jobs=*")
        self.page.wait_for_function("document.querySelectorAll('#g-chart path').length >= 2")
        self.shot("compare")

    def generate(self, model_name: str, count: int) -> None:
        """Generate `count` cats on the model's page and wait for the grid."""
        self.page.goto(f"/ui/models/{model_name}")
        self.page.fill("#generate-form input[name=count]", str(count))
        self.page.click("#generate-form button[type=submit]")
        self.page.wait_for_selector("#download:not([hidden])", timeout=300_000)
        self.page.wait_for_function("document.querySelector('#generated').naturalWidth > 0")
        self.shot("model")

    def datasets(self) -> None:
        self.page.goto("/ui/datasets")
        self.page.wait_for_function("document.querySelector('img.thumbs')?.naturalWidth > 0")
        self.shot("datasets")


def run(args: argparse.Namespace, home: Path) -> None:
    """Bring the stack up, make the runs and shoot the pages."""
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with LocalStack(Settings(home=home), port=args.port) as stack, sync_playwright() as p:
        client = CatganClient(stack.url, token=stack.token)
        dataset = client.upload_folder(args.data, "cat-faces-64")
        print(f"dataset {dataset['id']}: {dataset['image_count']} images; logs in {stack.log_dir}")
        first = client.train(dataset["id"], params=quickstart_params(args.minutes) | EXTRA, model_name="cats")
        second = client.train(dataset["id"], model_name="cats-slow-g",
                              params=quickstart_params(args.second_minutes) | EXTRA | {"lr_g": 1e-4})
        shooter = Shooter(p, stack.url, args.out)
        shooter.sign_in(stack.token)
        if wait_for(client, first["id"], until=0.5)["status"] == "failed":
            finished(client, first["id"])  # says why
        shooter.job(first["id"], "job-running")
        shooter.page.goto("about:blank")  # no polling while it trains
        finished(client, first["id"])
        shooter.job(first["id"], "job")
        finished(client, second["id"])
        shooter.jobs_and_compare(first["id"], second["id"])
        shooter.generate("cats", 64)
        shooter.datasets()
        shooter.browser.close()


def main() -> None:
    args = parse_args()
    if shutil.which("chromium") is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    if not args.data.is_dir():
        raise SystemExit(f"no folder of images at {args.data}")
    if args.home:
        run(args, args.home.resolve())
        return
    with tempfile.TemporaryDirectory(prefix="catgan-shots-") as home:
        run(args, Path(home))


if __name__ == "__main__":
    main()
