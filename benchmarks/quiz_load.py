"""Quiz load: N simulated students answer one question within a window, through the classroom
start (`python -m classroom`, HAProxy and its workers), over Streamlit's websocket.

    python benchmarks/quiz_load.py [--students 100] [--seconds 30] [--workers 2]

The teacher's question is opened in the quiz database first. Each student then speaks the
browser's protocol, as benchmarks/classroom_load.py does: it GETs `/quiz` (keeping the proxy's
sticky-worker and student cookies), opens the websocket, loads the page, and at a random moment
of the window types its answer and presses "Send my answer" (the form's text and the submit
trigger, in a rerun of the fragment they live in). A teacher, signed in with the token the same
way, reruns the live-results fragment every 2 s as the browser's `run_every` does and reads the
"Answers" metric. For every answer: the time from pressing Send to the first teacher poll whose
count includes it (answers counted in the order the database committed them), as p50/p95; the
errors; and lost answers (the database must hold every student's last answer). Prints
measurements, never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import benchmarks.classroom_load as load  # noqa: E402
from core.quiz.store import QuizStore  # noqa: E402

load.PAGE_URL_PATH = "quiz"  # the page every simulated browser opens
POLL_SECONDS = 2.0  # the teacher's live-results fragment (pages/quiz.py REFRESH_SECONDS)


def widget_ids(student: load.Student, kind: str, label: str) -> list[tuple[str, str]]:
    """(widget id, fragment id) of the drawn widgets of `kind` with this label."""
    found = []
    for path in sorted(student.page.nodes):
        node = student.page.nodes[path]
        element = node.element
        if getattr(element, "DESCRIPTOR", None) is None or element.DESCRIPTOR.name != "Element":
            continue
        if element.WhichOneof("type") == kind and getattr(element, kind).label == label:
            found.append((getattr(element, kind).id, node.fragment_id))
    return found


async def submit_form(student: load.Student, field: str, text: str, button: str) -> int:
    """Type into the text input labelled `field` and press the form's submit `button`."""
    (text_id, fragment), *_ = widget_ids(student, "text_input", field)
    (button_id, _), *_ = widget_ids(student, "button", button)
    student.page.values[text_id] = ("string_value", text)
    student.page.values[button_id] = ("trigger_value", True)
    try:
        return await student._run(student.page.rerun_message(fragment))
    finally:
        student.page.values.pop(button_id, None)  # a trigger lasts one run


async def answer_once(student: load.Student, at: float, text: str, sent: dict, errors: list):
    await asyncio.sleep(max(0.0, at - time.time()))
    sent[student] = time.time()
    try:
        status = await submit_form(student, "Your answer", text, "Send my answer")
        if status not in (
            load.RUN_FINISHED.FINISHED_SUCCESSFULLY,
            load.RUN_FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ):
            errors.append(f"answer run finished with status {status}")
        elif student.page.exceptions:
            errors.append(f"exception: {student.page.exceptions[0]}")
    except (load.ProtocolError, websockets.ConnectionClosed, OSError, TimeoutError) as error:
        errors.append(f"{type(error).__name__}: {error}")


async def teacher_polls(teacher: load.Student, until: float, polls: list) -> None:
    """(time, Answers count) every POLL_SECONDS, as the teacher's browser reruns the fragment."""
    while time.time() < until:
        fragments = {
            node.fragment_id
            for node in teacher.page.nodes.values()
            if getattr(node.element, "DESCRIPTOR", None) is not None
            and node.element.DESCRIPTOR.name == "Element"
            and node.element.WhichOneof("type") == "metric"
        }
        await teacher._run(teacher.page.rerun_message(next(iter(fragments), "")))
        count = teacher.page.metrics().get("Answers")
        polls.append((time.time(), int(count) if count and count.isdigit() else 0))
        await asyncio.sleep(POLL_SECONDS)


async def measure(url: str, runs_root: Path, token: str, students: int, seconds: float) -> None:
    quiz = QuizStore.open(runs_root)
    qid = quiz.open_question("case-4", "shape")
    rng = random.Random(0)
    teacher = load.Student(url, rng, 2.0)
    await teacher.open_page()
    await submit_form(teacher, "Teacher token", token, "Sign in")
    if teacher.page.metrics().get("Answers") != "0":
        raise SystemExit(f"the teacher's page shows no live count: {teacher.page.metrics()}")
    crowd = [load.Student(url, random.Random(i), 2.0) for i in range(students)]
    opened = time.time()
    await asyncio.gather(*(student.open_page() for student in crowd))
    print(f"{students} students loaded /quiz in {time.time() - opened:.1f} s")
    texts = {s: rng.choice(["1×7×7", "1×5×5", "1×9×9", "1×7×7"]) for s in crowd}
    start = time.time() + 1.0
    sent: dict = {}
    errors: list[str] = []
    polls: list[tuple[float, int]] = []
    poller = asyncio.create_task(teacher_polls(teacher, start + seconds + 15.0, polls))
    await asyncio.gather(
        *(answer_once(s, start + rng.uniform(0, seconds), texts[s], sent, errors) for s in crowd)
    )
    await poller
    stored = {a.student: a for a in quiz.answers(qid)}
    ids = {s: s.cookie("cnn_student") for s in crowd}
    lost = [s for s in crowd if ids[s] not in stored or stored[ids[s]].text != texts[s]]
    order = sorted(stored.values(), key=lambda a: a.answered)
    position = {a.student: k + 1 for k, a in enumerate(order)}
    delays = []
    for student, when in sent.items():
        k = position.get(ids[student])
        seen = next((t for t, count in polls if k and count >= k), None)
        if seen is not None:
            delays.append(seen - when)
    for student in [teacher, *crowd]:
        await student.close()
    print(
        f"answers sent {len(sent)}, stored {len(stored)}, lost {len(lost)}, errors {len(errors)}"
        + (f" (first: {errors[0]})" if errors else "")
    )
    if delays:
        delays.sort()
        p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
        print(
            f"answer -> the teacher's count: p50 {statistics.median(delays):.2f} s,"
            f" p95 {p95:.2f} s, max {delays[-1]:.2f} s (the teacher polls every"
            f" {POLL_SECONDS:g} s)"
        )


async def open_page(self: load.Student) -> None:
    """Student.open without the explorer's checks: load /quiz and connect."""
    self.page = load.PageView()
    cookies = await asyncio.to_thread(self._get_page)
    self.socket = await websockets.connect(
        self.stream,
        subprotocols=["streamlit"],
        origin=self.origin,
        additional_headers={"Cookie": cookies} if cookies else None,
        max_size=None,
        open_timeout=load.ANSWER_TIMEOUT_S,
    )
    status = await self._run(self.page.rerun_message())
    if status != load.RUN_FINISHED.FINISHED_SUCCESSFULLY or self.page.exceptions:
        raise load.ProtocolError(f"/quiz loaded with status {status} {self.page.exceptions}")


load.Student.open_page = open_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import os

    runs_root = Path(tempfile.mkdtemp(prefix="quiz-load-"))
    token = secrets.token_hex(16)
    os.environ["CNN_RUNS_DIR"] = str(runs_root)
    log = open(runs_root / "classroom.log", "w")  # noqa: SIM115 - closed at the end
    load.secrets.token_hex = lambda n=16: token  # the launcher's --teacher-token, known here
    process, url = load.start_classroom(args.workers, log)
    try:
        asyncio.run(measure(url, runs_root, token, args.students, args.seconds))
    finally:
        load.stop(process)
        log.close()


if __name__ == "__main__":
    main()
