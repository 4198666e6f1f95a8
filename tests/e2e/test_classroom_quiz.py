"""A class quiz through the classroom start (2 workers behind HAProxy, real Chromium): the teacher
and the students land on different workers; the question the teacher opens appears on each
student's page, and the teacher's live counts follow their answers, without a reload."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import screenshot, wait_for_app_run
from tests.e2e.test_classroom import cookies_of, open_page, settled, started_classroom

LIVE = 30_000  # ms: the pages poll every 2-3 s; generous for a loaded 2-core machine


def metric(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def send(page: Page, text: str) -> None:
    page.get_by_label("Your answer").fill(text)
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_text("You may change it until")).to_be_visible(timeout=LIVE)


def test_a_question_to_the_class_across_workers(browser: Browser, tmp_path: Path) -> None:
    with started_classroom(2, tmp_path / "runs") as room:
        teacher_context, teacher = open_page(browser, f"{room.url}/quiz")
        settled(teacher)
        teacher.get_by_test_id("stSidebar").get_by_text("Teacher", exact=True).click()
        teacher.get_by_label("Teacher token").fill("e2e-teacher-token")
        teacher.get_by_role("button", name="Sign in").click()
        wait_for_app_run(teacher, timeout=120_000)
        expect(teacher.get_by_text("Ask the class")).to_be_visible(timeout=LIVE)

        students = []
        for width in (1400, 1000):
            context, page = open_page(browser, f"{room.url}/quiz", width=width)
            settled(page)
            expect(page.get_by_text("No question yet")).to_be_visible(timeout=LIVE)
            students.append((context, page))
        contexts = [teacher_context] + [context for context, _ in students]
        workers = {cookies_of(context)["cnn_worker"] for context in contexts}
        assert workers == {"w1", "w2"}  # the teacher and a student on different workers

        teacher.get_by_role("button", name="Open the question").click()  # case 1, output shape
        for _, page in students:  # no reload: the page polls
            expect(page.get_by_text("What is this layer's output shape?")).to_be_visible(
                timeout=LIVE
            )
        send(students[0][1], "1×2×2")
        expect(metric(teacher, "Answers")).to_have_text("1", timeout=LIVE)
        send(students[1][1], "1×4×4")
        expect(metric(teacher, "Answers")).to_have_text("2", timeout=LIVE)
        expect(metric(teacher, "Percent right")).to_have_text("50%", timeout=LIVE)
        expect(teacher.get_by_text("The mistakes the room made")).to_be_visible(timeout=LIVE)
        screenshot(teacher, "quiz-teacher-1400")

        teacher.get_by_role("button", name="Reveal the working").click()
        expect(students[0][1].get_by_text("you had it")).to_be_visible(timeout=LIVE)
        expect(students[1][1].get_by_text("you answered 1×4×4")).to_be_visible(timeout=LIVE)
        screenshot(students[1][1], "quiz-student-1000")
        for context, _ in students:
            context.close()
        teacher_context.close()
