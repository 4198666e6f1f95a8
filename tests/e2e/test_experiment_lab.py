"""The experiment lab in Chromium: change LeNet-5 on its page, train that variant from the
filled-in training form, and find it in the comparison beside the lecture's network."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page, expect

from core.runs.store import list_runs
from core.training import jobs
from core.training.saved import load_config
from tests.e2e.conftest import screenshot, wait_for_app_run


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app_run(page)


def test_variant_from_lenet_page_to_training_to_comparison(
    app_url: str, page: Page, e2e_runs_root: Path, e2e_trained_run: Path
) -> None:
    page.goto(f"{app_url}/lenet")
    wait_for_app_run(page)
    page.get_by_test_id("stRadio").filter(has_text="Activation").get_by_text(
        "tanh", exact=False
    ).click()
    wait_for_app_run(page)
    page.get_by_role("link", name="Train this architecture").click()
    page.wait_for_url("**/training?activation=tanh*")
    wait_for_app_run(page)
    expect(page.get_by_text("a variant of LeNet-5")).to_be_visible()
    expect(page.get_by_text("61,706 parameters")).to_be_visible()  # the cost before Train
    choose(page, "Training images", "5,000")
    page.get_by_test_id("stNumberInput").filter(has_text="Epochs").locator("input").fill("1")
    page.keyboard.press("Tab")
    wait_for_app_run(page)
    before = {run.id for run in list_runs(e2e_runs_root)}
    page.get_by_role("button", name="Train", exact=True).click()
    deadline = time.monotonic() + 60
    new = []
    while not new and time.monotonic() < deadline:
        new = [run for run in list_runs(e2e_runs_root) if run.id not in before]
        time.sleep(0.2)
    (run,) = new
    config = load_config(run)
    assert (config.activation, config.train_subset, config.epochs) == ("tanh", 5_000, 1)
    deadline = time.monotonic() + 120
    while jobs.is_active(run) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert jobs.job_state(run)["state"] == "completed"

    page.goto(f"{app_url}/compare?run={run.id}&run={e2e_trained_run.name}")
    wait_for_app_run(page)
    table = page.get_by_test_id("stTable").first
    expect(table).to_contain_text(run.id)
    expect(table).to_contain_text(e2e_trained_run.name)
    expect(table).to_contain_text("tanh")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "compare")
