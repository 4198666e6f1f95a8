"""A class presses Train: N students, each in their own session of the training page, on one
runs folder in classroom mode. Checks the issue's promises while the queue drains:

- no student ever has more than one run queued or training (a second press is refused);
- every queued student's page shows their place in the queue (and, once a run has measured
  the machine's speed, an estimated start);
- nobody can stop another student's run (each student tries, through the jobs API);
- the machine trains at its slot limit throughout: whenever a run is queued, a slot trains.

    python benchmarks/classroom_training.py [--students 30] [--images 4096]

Each student's run is one epoch on --images training images (a choice of the form: 5,000 by
default, so that the whole class fits in a few minutes). Slot use is sampled every 0.25 s
from the slot locks and the run folders; a slot is "starting" while the process that took it
imports torch and loads MNIST (it holds the slot but trains no batch yet), or tests the
finished model on the 10,000 test images; both are reported separately from training.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--images", default="5,000", help="the form's Training images choice")
    parser.add_argument(
        "--no-preload",
        action="store_true",
        help="the baseline: the run next in line does not load torch and MNIST while it waits",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="classroom-runs-"))
    os.environ.update(CNN_RUNS_DIR=str(root), CNN_CLASSROOM="1", CNN_RUNS_PER_STUDENT="1")
    os.environ.setdefault("CNN_TEACHER_TOKEN", "benchmark")
    os.environ["CNN_QUEUE_PRELOAD"] = "0" if args.no_preload else "1"
    from streamlit.testing.v1 import AppTest

    from core.runs.owners import NotYourRunError, Viewer, owner_of
    from core.runs.store import Run, list_runs
    from core.training import jobs

    slots = jobs.max_parallel()
    page = str(REPO / "pages" / "training.py")

    def sessions_button(app: AppTest, label: str):
        return next(b for b in app.button if b.label == label)

    # ---------------------------------------------------------------- the class arrives
    students: list[AppTest] = []
    refused_second = 0
    started = time.monotonic()
    for _ in range(args.students):
        app = AppTest.from_file(page, default_timeout=120)
        app.run()
        next(s for s in app.selectbox if s.label == "Training images").set_value(args.images)
        next(n for n in app.number_input if n.label == "Epochs").set_value(1)
        app.run()
        sessions_button(app, "Train").click().run()
        app.run()
        sessions_button(app, "Train").click().run()  # a second press: must be refused
        errors = " ".join(e.value for e in app.error)
        refused_second += "per student" in errors
        students.append(app)
    submitted_s = time.monotonic() - started
    runs = list_runs(root)
    owners = {app.session_state["student_id"] for app in students}

    # ---------------------------------------------------------------- sampling the queue
    samples = {"queued": 0, "training": 0, "starting": 0, "idle_with_queue": 0}
    max_active_per_student = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal max_active_per_student
        while not done.is_set():
            summaries = [jobs.summarize(run) for run in list_runs(root)]
            queued = [s for s in summaries if s.state == "queued"]
            running = [s for s in summaries if s.state == "running"]
            per_student: dict[str, int] = {}
            for s in queued + running:
                owner = owner_of(Run(root / s.id))
                per_student[owner] = per_student.get(owner, 0) + 1
            if per_student:
                max_active_per_student = max(max_active_per_student, max(per_student.values()))
            if queued:
                samples["queued"] += 1
                training = sum(1 for s in running if s.batches_done > 0)
                if slots_taken() >= slots:
                    samples["training" if training >= slots else "starting"] += 1
                else:
                    samples["idle_with_queue"] += 1
            if not queued and not running:
                done.set()
            time.sleep(0.25)

    def slots_taken() -> int:
        """Slots some process holds (a flock probe on each slot file, as the jobs take them)."""
        taken = 0
        for index in range(slots):
            try:
                fd = os.open(root / ".slots" / f"slot-{index}.lock", os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                taken += 1
            finally:
                os.close(fd)
        return taken

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    # Every student tries to stop someone else's run; every queued student reads their place.
    foreign_stops = 0
    for app in students:
        me = app.session_state["student_id"]
        other = next(r for r in runs if owner_of(r) not in (me, None))
        try:
            jobs.stop(other, Viewer(owner=me, teacher=False, classroom=True))
            foreign_stops += 1
        except NotYourRunError:
            pass
    positions_seen, queued_checked, with_estimate = 0, 0, 0
    while not done.is_set():
        for app in students[::3]:
            mine = [r for r in runs if owner_of(r) == app.session_state["student_id"]]
            if not mine or jobs.job_state(mine[0])["state"] != "queued":
                continue
            app.run()
            text = " ".join(m.value for m in app.markdown)
            queued_checked += 1
            positions_seen += "in the queue" in text
            with_estimate += "starts in about" in text or "starting now" in text
        time.sleep(1.0)
    sampler.join()
    total_s = time.monotonic() - started
    completed = sum(1 for run in runs if jobs.job_state(run)["state"] == "completed")

    print(
        f"students: {args.students}, slots: {slots}, one epoch on {args.images} images each,"
        f" next in line loads ahead: {'no' if args.no_preload else 'yes'}"
    )
    print(f"runs started: {len(runs)} (one per student: {len(runs) == len(owners)})")
    print(f"second press refused: {refused_second}/{args.students}")
    print(f"max runs queued or training for one student, sampled: {max_active_per_student}")
    print(f"stops of another student's run that went through: {foreign_stops}")
    print(
        f"queued pages read: {queued_checked}, showing their place: {positions_seen},"
        f" with an estimated start: {with_estimate}"
    )
    queued = max(1, samples["queued"])
    print(
        f"while runs were queued ({samples['queued']} samples): slots full"
        f" {(samples['training'] + samples['starting']) / queued:.1%}"
        f" (training {samples['training'] / queued:.1%}, next run starting"
        f" {samples['starting'] / queued:.1%}),"
        f" a slot idle {samples['idle_with_queue'] / queued:.1%}"
    )
    print(f"completed: {completed}/{len(runs)}; submitting took {submitted_s:.0f} s,")
    print(f"the whole class {total_s:.0f} s ({total_s / max(1, len(runs)):.1f} s a run)")
    print(f"runs folder (temporary): {root}")


if __name__ == "__main__":
    main()
