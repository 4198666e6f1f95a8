"""Classroom mode through the jobs API: at most K runs per student, only the owner or the
teacher manages a run, the queue takes turns over students and says when each run starts.

The runs are real job processes. The test holds the only training slot itself (the same
`flock` a training job takes), so every run stays queued and nothing trains: the queue is
exactly as a full classroom sees it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs.owners import Classroom, NotYourRunError, RunLimitError, Viewer, owner_of
from core.runs.store import Run, list_runs
from core.training import jobs
from core.training.config import TrainConfig
from tests.job_helpers import hold_only_slot, kill_jobs, state, wait_until

pytestmark = pytest.mark.mnist
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mnist_dir: Path):
    """A runs folder whose one slot the test holds: runs queue, none trains."""
    monkeypatch.setenv(jobs.MAX_PARALLEL_ENV, "1")
    root = tmp_path / "runs"
    slot = hold_only_slot(root)
    yield root
    kill_jobs(root)
    os.close(slot)


def small(**changes) -> TrainConfig:
    return TrainConfig(epochs=1, train_subset=2_048, **changes)


ALICE = Viewer(owner="alice-cookie", teacher=False, classroom=True)
BOB = Viewer(owner="bob-cookie", teacher=False, classroom=True)
TEACHER = Viewer(owner="teacher-cookie", teacher=True, classroom=True)


def test_settings_come_from_the_environment() -> None:
    assert not Classroom.from_env({}).enabled
    settings = Classroom.from_env(
        {"CNN_CLASSROOM": "1", "CNN_TEACHER_TOKEN": "s3cret", "CNN_RUNS_PER_STUDENT": "2"}
    )
    assert settings.enabled and settings.runs_per_student == 2
    assert settings.is_teacher_token("s3cret")
    assert not settings.is_teacher_token("S3cret") and not settings.is_teacher_token(None)
    assert settings.viewer("x", "s3cret").teacher
    assert not settings.viewer("x", "wrong").teacher
    # No token configured: nobody becomes the teacher, not even with an empty token.
    assert not Classroom.from_env({"CNN_CLASSROOM": "1"}).viewer("x", "").teacher
    # Outside classroom mode (make run) the one user manages everything.
    assert Classroom.from_env({}).viewer(None).teacher


def test_a_student_has_at_most_one_run_queued_or_training(runs_root: Path) -> None:
    first = jobs.submit(small(), runs_root, owner=ALICE.owner, limit=1)
    assert owner_of(first) == ALICE.owner and state(first) == "queued"
    with pytest.raises(RunLimitError, match="1 run per student"):
        jobs.submit(small(seed=1), runs_root, owner=ALICE.owner, limit=1)
    # Another student is not held back by Alice's run.
    bob = jobs.submit(small(), runs_root, owner=BOB.owner, limit=1)
    # A sweep is all or nothing: three runs for a limit of one start none.
    with pytest.raises(RunLimitError, match="asked for 3 more"):
        jobs.submit_all([small(lr=lr) for lr in (1.0, 0.1, 0.01)], runs_root, "carol", limit=1)
    assert {run.id for run in list_runs(runs_root)} == {first.id, bob.id}
    # Once Alice's run has ended, she may start another.
    jobs.stop(first, ALICE)
    wait_until(lambda: state(first) == "stopped")
    again = jobs.submit(small(seed=2), runs_root, owner=ALICE.owner, limit=1)
    assert state(again) == "queued"


def test_only_the_owner_or_the_teacher_can_stop_resume_or_delete(runs_root: Path) -> None:
    run = jobs.submit(small(), runs_root, owner=ALICE.owner, limit=1)
    for action in (jobs.stop, jobs.delete):
        with pytest.raises(NotYourRunError, match="another browser"):
            action(run, BOB)
    assert state(run) == "queued" and not run.stop_requested()
    jobs.stop(run, TEACHER)  # the teacher may
    wait_until(lambda: state(run) == "stopped")
    with pytest.raises(NotYourRunError):
        jobs.resume(run, BOB, limit=1)
    assert state(run) == "stopped"
    # Resuming counts against the owner's limit like a new run.
    other = jobs.submit(small(seed=5), runs_root, owner=ALICE.owner, limit=1)
    with pytest.raises(RunLimitError):
        jobs.resume(run, ALICE, limit=1)
    jobs.delete(other, ALICE)
    jobs.resume(run, ALICE, limit=1)
    assert state(run) == "queued"
    jobs.stop(run, ALICE)
    wait_until(lambda: state(run) == "stopped")
    jobs.delete(run, ALICE)
    assert not run.path.exists()


def test_runs_without_an_owner_are_the_teachers(runs_root: Path) -> None:
    run = jobs.submit(small(), runs_root)  # the command line or a run from before
    assert owner_of(run) is None
    assert not ALICE.may_manage(run) and TEACHER.may_manage(run)
    assert Viewer(owner=None).may_manage(run)  # outside classroom mode: everyone


SUBMIT_AT_ONCE = """
import sys, time
from pathlib import Path
from core.runs.owners import RunLimitError
from core.training import jobs
from core.training.config import TrainConfig
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
try:
    jobs.submit(TrainConfig(epochs=1, train_subset=2048, seed=int(sys.argv[3])), Path(sys.argv[1]),
                owner="same-student", limit=1)
    print("started")
except RunLimitError:
    print("refused")
"""


def test_two_servers_submitting_at_once_start_one_run_for_a_student(
    runs_root: Path, tmp_path: Path
) -> None:
    """Two workers of a classroom server are two processes: the limit holds across them."""
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SUBMIT_AT_ONCE, str(runs_root), str(go), str(seed)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2, 3)
    ]
    time.sleep(2.0)  # let all three import torch and wait for the signal
    go.touch()
    answers = sorted(p.communicate(timeout=300)[0].strip() for p in processes)
    assert answers == ["refused", "refused", "started"]
    assert len(list_runs(runs_root)) == 1


def test_the_queue_takes_turns_over_students(runs_root: Path) -> None:
    a1 = jobs.submit(small(seed=1), runs_root, owner=ALICE.owner, limit=3)
    a2 = jobs.submit(small(seed=2), runs_root, owner=ALICE.owner, limit=3)
    b1 = jobs.submit(small(seed=3), runs_root, owner=BOB.owner, limit=3)
    order = [run.id for run in jobs.queue_order(runs_root)]
    # Bob's first run goes before Alice's second, although he queued it last.
    assert order == [a1.id, b1.id, a2.id]
    summaries = {s.id: s for s in (jobs.summarize(Run(runs_root / i)) for i in order)}
    places = jobs.estimated_starts([], [summaries[i] for i in order], 1, speed=2_048.0)
    assert [places[i][0] for i in order] == [1, 2, 3]
    # Each run is 1 epoch of 2,048 images at 2,048 images/s plus start-up.
    length = jobs.START_UP_SECONDS + 1.0
    assert [places[i][1] for i in order] == pytest.approx([0.0, length, 2 * length])


def test_estimated_starts_follow_the_slots() -> None:
    running = jobs.RunSummary(
        "r", "running", None, TrainConfig(epochs=2, train_subset=10_000, batch_size=100),
        epochs_done=1, images_per_second=1_000.0,
    )  # fmt: skip
    assert running.eta_s == pytest.approx(10.0)
    queued = [
        jobs.RunSummary(f"q{i}", "queued", None, TrainConfig(epochs=1, train_subset=5_000))
        for i in range(3)
    ]
    one = jobs.estimated_starts([running], queued, slots=1, speed=1_000.0)
    step = jobs.START_UP_SECONDS + 5.0
    assert [one[q.id] for q in queued] == [(1, 10.0), (2, 10.0 + step), (3, 10.0 + 2 * step)]
    two = jobs.estimated_starts([running], queued, slots=2, speed=1_000.0)
    assert [two[q.id][1] for q in queued] == [0.0, step, 10.0]
    unknown = jobs.estimated_starts([], queued, slots=1, speed=None)
    assert [unknown[q.id] for q in queued] == [(1, 0.0), (2, None), (3, None)]


def test_owner_ids_are_checked_before_anything_is_written(runs_root: Path) -> None:
    with pytest.raises(ValueError, match="invalid owner"):
        jobs.submit(small(), runs_root, owner="../../etc", limit=1)
    assert list_runs(runs_root) == []


def test_the_run_next_in_line_loads_while_it_waits_and_trains_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mnist_dir: Path
) -> None:
    """The run next in line imports torch and loads MNIST while the slot is busy, then trains
    in that process: same metrics as a run that started the usual way (same machine)."""
    from core.training.loop import train

    monkeypatch.setenv(jobs.MAX_PARALLEL_ENV, "1")
    root = tmp_path / "runs"
    slot = hold_only_slot(root)
    config = TrainConfig(epochs=1, train_subset=2_048, seed=7, log_every=4)
    run = jobs.submit(config, root, owner=ALICE.owner, limit=1)
    try:
        wait_until(lambda: "loading torch and MNIST" in run.output_tail(40))
        assert state(run) == "queued"
        os.close(slot)  # the slot frees up
        wait_until(lambda: state(run) in ("completed", "failed", "crashed"))
        assert state(run) == "completed", run.output_tail()
        assert "loaded while queued" in run.output_tail(40)
        usual = train(config, tmp_path / "usual")
        assert usual.status == "completed"
        ours = [r for r in run.read_metrics() if r["kind"] in ("batch", "epoch")]
        theirs = [r for r in usual.run.read_metrics() if r["kind"] in ("batch", "epoch")]
        drop = {"time", "seconds", "images_per_second"}
        assert [{k: v for k, v in r.items() if k not in drop} for r in ours] == [
            {k: v for k, v in r.items() if k not in drop} for r in theirs
        ]
    finally:
        info = jobs.job_info(run)
        if info and jobs.is_active(run):
            os.kill(info["pid"], signal.SIGKILL)


def test_a_run_stopped_while_it_loads_ends_stopped_at_once(runs_root: Path) -> None:
    run = jobs.submit(small(seed=8), runs_root, owner=ALICE.owner, limit=1)
    # Next in line: it begins importing torch in the background; stop it in the middle.
    wait_until(lambda: "loading torch and MNIST" in run.output_tail(40))
    jobs.stop(run, ALICE)
    wait_until(lambda: state(run) == "stopped", timeout=60)
    pid = json.loads((run.path / "job.json").read_text())["pid"]
    wait_until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in stat_state(pid), timeout=60)
    jobs.delete(run, ALICE)
    assert not run.path.exists()


def stat_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
