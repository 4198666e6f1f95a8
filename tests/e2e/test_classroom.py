"""The classroom start for real: `python -m classroom` with Streamlit workers behind HAProxy,
pages opened in Chromium through the proxy. Two browsers are two students, spread over both
workers, and a reload keeps its worker; a foreign Host is refused at the proxy and by the
workers; SIGTERM leaves no worker and no haproxy behind, a dead worker is started again while
HAProxy sends its students elsewhere (one that dies too often stops the classroom), and a
killed launcher takes its children with it. Screenshots at 1400 and 1000 px."""

from __future__ import annotations

import base64
import http.client
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from classroom.launch import find_haproxy
from tests.e2e.conftest import REPO_ROOT, free_port, screenshot, wait_for_app_run

# Generous: a loaded 2-core machine can take minutes to start Streamlit workers.
START_WAIT = 400.0
STOP_WAIT = 120.0
READY = re.compile(r"Classroom ready at (http://\S+) \((\d+) workers\)")


@dataclass
class RunningClassroom:
    process: subprocess.Popen
    url: str
    port: int
    state_dir: Path
    children: list[int]
    worker_ports: list[int]
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    out: queue.Queue | None = None  # the launcher's stdout lines after the ready line

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        """The next line of the launcher's stdout that matches `pattern` (kept in lines)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.out.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the launcher ended; printed: {self.lines}")
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        pytest.fail(f"no line matching {pattern!r} in {timeout} s; printed: {self.lines}")


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name (in parentheses) may hold spaces: the fields after it are plain
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in command and alive(int(entry.name)):
            found.append(f"{entry.name}: {command}")
    return found


def wait_until_gone(pids: list[int], timeout: float = STOP_WAIT) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.2)
    return [pid for pid in pids if alive(pid)]


def _pump(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


@contextmanager
def started_classroom(
    workers: int, runs_root: Path, extra: list[str] | None = None
) -> Iterator[RunningClassroom]:
    """`python -m classroom` on a free port; yields once its ready line is printed. Always
    ends it (SIGKILL as a last resort, so a failed test leaves nothing running)."""
    if find_haproxy() is None:
        pytest.fail("HAProxy is not installed: run `make proxy` (Debian: apt-get install haproxy)")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "classroom", "--workers", str(workers)]
        + ["--host", "127.0.0.1", "--port", str(port), "--teacher-token", "e2e-teacher-token"]
        + ["--start-timeout", str(int(START_WAIT)), *(extra or [])],
        cwd=REPO_ROOT,
        env={**os.environ, "CNN_RUNS_DIR": str(runs_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: queue.Queue = queue.Queue()
    err: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, out), daemon=True).start()
    threading.Thread(target=_pump, args=(process.stderr, err), daemon=True).start()
    lines: list[str] = []
    children: list[int] = []
    state_dir: Path | None = None
    try:
        deadline = time.monotonic() + START_WAIT + 60
        while not any(READY.search(line) for line in lines):
            if time.monotonic() > deadline:
                pytest.fail(f"no ready line; printed: {lines}")
            try:
                line = out.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                errors = drain(err)
                pytest.fail(f"the launcher exited ({process.wait()}): {lines} {errors}")
            lines.append(line)
        ready = [READY.search(line) for line in lines if READY.search(line)]
        assert len(ready) == 1 and ready[0].group(1) == f"http://127.0.0.1:{port}"
        assert int(ready[0].group(2)) == workers
        state = re.search(r"haproxy\.cfg: (\S+)\)", "\n".join(lines))
        assert state, lines
        state_dir = Path(state.group(1))
        config = (state_dir / "haproxy.cfg").read_text()
        worker_ports = [int(p) for p in re.findall(r"server w\d+ 127\.0\.0\.1:(\d+)", config)]
        children = child_pids(process.pid)
        room = RunningClassroom(
            process, ready[0].group(1), port, state_dir, children, worker_ports, lines, out=out
        )
        yield room
        room.lines += drain(out)
        room.errors += drain(err)
    finally:
        if process.poll() is None:  # the test failed while it ran: show its logs, then end it
            process.kill()
            if state_dir is not None:
                for log in sorted(state_dir.glob("*.log")):
                    print(f"--- {log.name}", *log.read_text().splitlines()[-20:], sep="\n")
                shutil.rmtree(state_dir, ignore_errors=True)
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=STOP_WAIT)


def drain(lines: queue.Queue, timeout: float = 5.0) -> list[str]:
    """What a pump has left, until its end (None) or `timeout` seconds of silence."""
    found = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            return found
        if line is None:
            return found
        found.append(line)


def cookies_of(context: BrowserContext) -> dict[str, str]:
    """The classroom's cookies (Streamlit's XSRF cookie changes its mask on every load)."""
    return {c["name"]: c["value"] for c in context.cookies() if c["name"].startswith("cnn_")}


def open_page(browser: Browser, url: str, width: int = 1400) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_for_app_run(page, timeout=120_000)
    return context, page


def settled(page: Page) -> None:
    """Wait for the page's widgets: Streamlit loads their code lazily, drawing grey skeletons
    until it arrives, which can be after the script run has finished."""
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=120_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def handshake_status(port: int, host: str) -> int:
    """The status of a WebSocket upgrade on /_stcore/stream with this Host."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "GET",
            "/_stcore/stream",
            headers={
                "Host": host,
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Protocol": "streamlit",
                "Origin": f"http://{host}",
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def get_status(port: int, path: str, host: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_class_through_the_proxy(browser: Browser, e2e_runs_root: Path) -> None:
    with started_classroom(2, e2e_runs_root) as room:
        assert len(room.worker_ports) == 2
        assert len(room.children) == 3  # two workers and haproxy
        assert not room.state_dir.is_relative_to(REPO_ROOT)  # nothing written into the repo

        # Student A: Home renders through the proxy, with a student and a worker cookie.
        context_a, page_a = open_page(browser, room.url)
        expect(
            page_a.get_by_role("heading", name="Convolutional neural networks, explained by doing")
        ).to_be_visible()
        settled(page_a)
        screenshot(page_a, "classroom-home-1400")
        first_a = cookies_of(context_a)
        assert re.fullmatch(r"[0-9a-f-]{36}", first_a["cnn_student"])
        assert first_a["cnn_worker"] in ("w1", "w2")

        # Student B, while A's tab holds its worker: another student, the other worker.
        context_b, page_b = open_page(browser, room.url, width=1000)
        first_b = cookies_of(context_b)
        assert first_b["cnn_student"] != first_a["cnn_student"]
        assert {first_a["cnn_worker"], first_b["cnn_worker"]} == {"w1", "w2"}
        settled(page_b)
        screenshot(page_b, "classroom-home-1000")

        # A reload and another page keep the student and the worker.
        page_a.reload()
        wait_for_app_run(page_a, timeout=120_000)
        assert cookies_of(context_a) == first_a
        page_a.goto(f"{room.url}/convolution")
        wait_for_app_run(page_a, timeout=120_000)
        expect(page_a.get_by_test_id("stMetric").filter(has_text="Output shape")).to_be_visible()
        settled(page_a)
        expect(page_a.get_by_test_id("stSlider").first).to_be_visible()
        screenshot(page_a, "classroom-convolution-1400")
        assert cookies_of(context_a) == first_a

        page_b.goto(f"{room.url}/convolution")
        wait_for_app_run(page_b, timeout=120_000)
        expect(page_b.get_by_test_id("stMetric").filter(has_text="Output shape")).to_be_visible()
        settled(page_b)
        expect(page_b.get_by_test_id("stSlider").first).to_be_visible()
        screenshot(page_b, "classroom-convolution-1000")
        assert cookies_of(context_b) == first_b
        context_a.close()
        context_b.close()

        # Another name (DNS rebinding) is refused at the proxy, and by each worker itself.
        assert get_status(room.port, "/", f"127.0.0.1:{room.port}") == 200
        assert get_status(room.port, "/", f"evil.example:{room.port}") == 403
        assert handshake_status(room.port, f"evil.example:{room.port}") == 403
        for worker_port in room.worker_ports:
            assert handshake_status(worker_port, f"127.0.0.1:{worker_port}") == 101
            assert handshake_status(worker_port, f"evil.example:{worker_port}") != 101

        # SIGTERM: the launcher stops haproxy and both workers, and leaves nothing behind.
        room.process.send_signal(signal.SIGTERM)
        assert room.process.wait(timeout=STOP_WAIT) == 0
        assert wait_until_gone(room.children) == []
        assert processes_mentioning(str(room.state_dir)) == []
        for worker_port in room.worker_ports:
            assert processes_mentioning(f"--server.port {worker_port} ") == []
        assert not room.state_dir.exists()
    assert "Classroom stopped." in room.lines


def worker_pid(room: RunningClassroom, port: int) -> int:
    (pid,) = [p for p in child_pids(room.process.pid) if f"--server.port {port} " in cmdline(p)]
    return pid


class Prober(threading.Thread):
    """GETs through the proxy every 50 ms as a browser pinned to one worker (its cookie),
    counting the answers that are not 200 OK, until stopped."""

    def __init__(self, port: int, worker: str) -> None:
        super().__init__(daemon=True)
        self.port, self.worker = port, worker
        self.halt = threading.Event()
        self.sent, self.failed = 0, []

    def run(self) -> None:
        cookie = f"cnn_worker={self.worker}; cnn_student=prober-0001"
        while not self.halt.wait(0.05):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request(
                    "GET",
                    "/_stcore/health",
                    headers={"Host": f"127.0.0.1:{self.port}", "Cookie": cookie},
                )
                status = connection.getresponse().status
            except OSError as error:
                status = repr(error)
            finally:
                connection.close()
            self.sent += 1
            if status != 200:
                self.failed.append(status)


def test_a_dead_worker_comes_back_and_its_students_keep_working(
    browser: Browser, e2e_runs_root: Path
) -> None:
    """kill -9 of the worker a student is on: HAProxy sends that student's requests to the
    other worker (not one fails), the launcher starts the dead one again within 30 s, and a
    reload is a working page with the same student."""
    with started_classroom(2, e2e_runs_root) as room:
        context, page = open_page(browser, room.url)
        settled(page)
        before = cookies_of(context)
        index = int(before["cnn_worker"][1:])
        port = room.worker_ports[index - 1]
        prober = Prober(room.port, before["cnn_worker"])
        prober.start()
        time.sleep(1.0)
        os.kill(worker_pid(room, port), signal.SIGKILL)
        killed = time.monotonic()
        room.wait_for_line(rf"^worker {index} \(port {port}\) was killed by SIGKILL", 30)
        room.wait_for_line(rf"^worker {index} \(port {port}\) started again", 30)
        back = room.wait_for_line(rf"^worker {index} \(port {port}\) is back", 60)
        recovered = time.monotonic() - killed
        time.sleep(3.0)  # HAProxy's two good checks, 1 s apart, and some traffic after
        prober.halt.set()
        prober.join()
        assert recovered < 30.0, back
        assert prober.sent > 50 and prober.failed == [], prober.failed
        assert room.process.poll() is None  # the class goes on

        page.reload()
        wait_for_app_run(page, timeout=120_000)
        settled(page)
        expect(
            page.get_by_role("heading", name="Convolutional neural networks, explained by doing")
        ).to_be_visible()
        assert cookies_of(context)["cnn_student"] == before["cnn_student"]
        screenshot(page, "classroom-after-worker-restart-1400")
        context.close()
        assert worker_pid(room, port) not in room.children  # a new process on the same port
        room.process.send_signal(signal.SIGTERM)
        assert room.process.wait(timeout=STOP_WAIT) == 0
        assert processes_mentioning(str(room.state_dir)) == []


def test_a_worker_that_dies_too_often_stops_the_classroom(e2e_runs_root: Path) -> None:
    with started_classroom(1, e2e_runs_root, ["--max-restarts", "1"]) as room:
        port = room.worker_ports[0]
        os.kill(worker_pid(room, port), signal.SIGKILL)
        room.wait_for_line(r"^worker 1 .* is back", 60)
        os.kill(worker_pid(room, port), signal.SIGKILL)
        assert room.process.wait(timeout=STOP_WAIT) == 1
        assert wait_until_gone(room.children) == []
        assert processes_mentioning(str(room.state_dir)) == []
    shutil.rmtree(room.state_dir)  # kept after a failure, for its logs
    (message,) = room.errors
    assert message.startswith("classroom: worker 1") and "killed by SIGKILL" in message
    assert "it died 2 times in 10 min, more than --max-restarts 1" in message


def test_a_killed_launcher_takes_its_children_with_it(e2e_runs_root: Path) -> None:
    with started_classroom(1, e2e_runs_root) as room:
        room.process.kill()  # no handler runs: the kernel's parent-death signal does the work
        room.process.wait(timeout=STOP_WAIT)
        assert wait_until_gone(room.children) == []
    shutil.rmtree(room.state_dir)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
