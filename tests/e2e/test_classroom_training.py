"""A class trains through the classroom start: each browser is a student by the proxy's
`cnn_student` cookie, whichever worker it lands on. Alice's run is hers after a reload,
Bob sees it without Stop and may start only one of his own, and the teacher signs in with
the token and manages both. The test holds the runs folder's one training slot, so the runs
stay queued (nothing trains) and the queue is what a full class sees."""

from __future__ import annotations

import os
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from core.runs.owners import owner_of
from core.runs.store import list_runs
from core.training import jobs
from tests.e2e.conftest import screenshot, wait_for_app_run
from tests.e2e.test_classroom import cookies_of, open_page, settled, started_classroom
from tests.job_helpers import hold_only_slot, kill_jobs


def stop_buttons(page: Page):
    return page.get_by_role("button", name="Stop")


def quick_demo(page: Page) -> None:
    page.get_by_role("button", name="Quick demo").click()
    wait_for_app_run(page, timeout=120_000)


def test_students_own_their_runs_through_the_proxy(browser: Browser, tmp_path: Path) -> None:
    runs_root = tmp_path / "runs"
    slot = hold_only_slot(runs_root)
    try:
        with started_classroom(2, runs_root) as room:
            alice_context, alice = open_page(browser, f"{room.url}/training")
            settled(alice)
            expect(alice.get_by_text("you may have 1 run queued or training")).to_be_visible()
            quick_demo(alice)
            expect(alice.get_by_text("· yours")).to_be_visible(timeout=60_000)
            (alices_run,) = list_runs(runs_root)
            assert owner_of(alices_run) == cookies_of(alice_context)["cnn_student"]
            expect(stop_buttons(alice)).to_have_count(1)

            # A second press: refused, with the reason on the page.
            quick_demo(alice)
            expect(alice.get_by_text("1 run per student")).to_be_visible()
            assert len(list_runs(runs_root)) == 1

            # After a reload (another session, maybe another worker) the run is still hers.
            alice.reload()
            wait_for_app_run(alice, timeout=120_000)
            expect(alice.get_by_text("· yours")).to_be_visible(timeout=60_000)
            expect(stop_buttons(alice)).to_have_count(1)

            bob_context, bob = open_page(browser, f"{room.url}/training", width=1000)
            settled(bob)
            assert (
                cookies_of(bob_context)["cnn_student"] != cookies_of(alice_context)["cnn_student"]
            )
            expect(bob.get_by_text("1 more run queued by other students")).to_be_visible(
                timeout=60_000
            )
            expect(stop_buttons(bob)).to_have_count(0)
            quick_demo(bob)
            expect(bob.get_by_text("· yours")).to_be_visible(timeout=60_000)
            expect(bob.get_by_text("number 2 in the queue")).to_be_visible(timeout=60_000)
            expect(stop_buttons(bob)).to_have_count(1)
            screenshot(bob, "classroom-training-student-1000")

            teacher_context, teacher = open_page(browser, f"{room.url}/training")
            settled(teacher)
            teacher.get_by_test_id("stSidebar").get_by_text("Teacher", exact=True).click()
            teacher.get_by_label("Teacher token").fill("e2e-teacher-token")
            teacher.get_by_role("button", name="Sign in").click()
            wait_for_app_run(teacher, timeout=120_000)
            expect(teacher.get_by_text("teacher's view")).to_be_visible()
            expect(stop_buttons(teacher)).to_have_count(2, timeout=60_000)
            screenshot(teacher, "classroom-training-teacher-1400")
            # The Stop buttons sit in a fragment redrawn every second: a click can land on a
            # replaced element, so click until one run has stopped.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                states = sorted(jobs.job_state(run)["state"] for run in list_runs(runs_root))
                if "stopped" in states:
                    break
                if stop_buttons(teacher).count():
                    stop_buttons(teacher).first.click()
                teacher.wait_for_timeout(2_000)
            assert states == ["queued", "stopped"], states
            expect(stop_buttons(teacher)).to_have_count(1, timeout=60_000)
            for context in (alice_context, bob_context, teacher_context):
                context.close()
    finally:
        kill_jobs(runs_root)
        os.close(slot)
