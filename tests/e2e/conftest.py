"""Browser harness: a real `streamlit run dashboard/Home.py` on a free port, driven by Chromium.

Modelled on Streamlit's own e2e_playwright suite: start the server, wait for
`/_stcore/health`, find widgets by `data-testid`, and after every action wait for the
script run to finish. Screenshots of each page visited go to `artifacts/screenshots/`
(git-ignored); the README's pictures come from there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

# Assertions wait up to 20 s (Playwright's default is 5): on a busy 2-core machine a page
# that renders in half a second when idle can take several.
expect.set_options(timeout=20_000)
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable() -> str | None:
    """Debian's Chromium where it is installed (or $CHROMIUM_PATH); else Playwright's own."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen | None, timeout: float = 60.0) -> None:
    """Until `url` answers Streamlit's health check; `process`, the server (streamlit or the
    classroom's proxy and workers), ending first is an error at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"no healthy server at {url} within {timeout:.0f} s")


def start_app(port: int, runs_root: Path, output) -> subprocess.Popen:
    """`streamlit run dashboard/Home.py` on 127.0.0.1:port, its runs in `runs_root`."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/Home.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "CNN_RUNS_DIR": str(runs_root)},
        stdout=output,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="session")
def e2e_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The run folders of the browser tests: never the user's `runs/`."""
    root = tmp_path_factory.mktemp("e2e-runs")
    yield root
    from tests.job_helpers import kill_jobs  # imported late, as core.jobs was before

    kill_jobs(root)  # never leave a training process behind


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, e2e_runs_root: Path) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log_path, "w") as log:
        process = start_app(port, runs_root=e2e_runs_root, output=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"streamlit log: {log_path}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        executable = chromium_executable()
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS if executable else None
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def wait_for_app_run(page: Page, timeout: float = 30_000) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout
    )
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout)


def plot_position(
    page: Page,
    x: float,
    y: float,
    find: str = "document.querySelector('.js-plotly-plot')",
    axes: tuple[str, str] = ("xaxis", "yaxis"),
    timeout: float = 30_000,
) -> tuple[float, float]:
    """The page position of data point (x, y) on the plot that the JavaScript expression `find`
    names, after bringing the plot into view. A rerun may replace the plot's element while this
    looks (plotly draws it again): then it looks again, until two readings 200 ms apart agree."""
    xa, ya = axes
    script = f"""() => {{
      const gd = {find};
      if (!gd || !gd.isConnected || !gd._fullLayout || !gd._fullLayout.{xa}
          || !gd._fullLayout.{ya}) return null;
      const box = gd.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) gd.scrollIntoView({{block: 'center'}});
      const b = gd.getBoundingClientRect();
      const X = gd._fullLayout.{xa}, Y = gd._fullLayout.{ya};
      return [b.left + X._offset + X.d2p({x}), b.top + Y._offset + Y.d2p({y})];
    }}"""
    deadline = time.monotonic() + timeout / 1000
    previous = None
    while time.monotonic() < deadline:
        current = page.evaluate(script)
        if current is not None and current == previous:
            return float(current[0]), float(current[1])
        previous = current
        page.wait_for_timeout(200)
    raise AssertionError(f"the plot {find} did not settle within {timeout / 1000:.0f} s")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    # Streamlit scrolls inside its own container, so a "full page" shot needs a tall viewport.
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stAppScrollToBottomContainer]')].map(e => e.scrollHeight), 0)"
    )
    page.set_viewport_size(
        {"width": viewport["width"], "height": max(viewport["height"], height + 80)}
    )
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
    return path


@pytest.fixture(scope="session", autouse=True)
def _chromium_present() -> None:
    if chromium_executable() is None and shutil.which("playwright") is None:
        pytest.fail("no Chromium found: run `make browser` (Debian: apt-get install chromium)")


@pytest.fixture(scope="session")
def e2e_trained_run(e2e_runs_root: Path) -> Path:
    """One quick finished run (1 epoch on 8,192 images) for the pages that need a model."""
    from core.training.config import TrainConfig
    from core.training.loop import train

    run_dir = e2e_runs_root / "e2e-trained-run"
    result = train(TrainConfig(epochs=1, train_subset=8_192, seed=4), run_dir)
    assert result.status == "completed"
    return run_dir
