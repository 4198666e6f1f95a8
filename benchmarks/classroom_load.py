"""Classroom load: N simulated students on the convolution explorer, over Streamlit's websocket.

    python benchmarks/classroom_load.py --mode plain --students 30 60 100 --seconds 30
    python benchmarks/classroom_load.py --mode classroom --workers 2 --students 100
    python benchmarks/classroom_load.py --url http://127.0.0.1:8501 --pid 1234 --students 30
    python benchmarks/classroom_load.py --mode classroom --students 30 --kill-worker-at 10

Each student speaks the browser's protocol: it GETs `/convolution` (keeping the cookies a
proxy sets: the classroom's sticky worker and student id), opens `/_stcore/stream` with them,
asks for the page as a browser at `/convolution` does (a `rerun_script` BackMsg with that
page name; afterwards the page script hash from the server's `navigation` message), builds
the element tree from the ForwardMsgs (the browser's message cache and stale-element rules
included), reads the widget ids from it, and then, every ~2 s on average (exponential gaps,
seeded; never before its last answer came back), steps one explorer control up or down and
sends a `rerun_script` with the full widget state and the fragment the widget lives in, as
the browser does.

For every change it times sending -> `script_finished` and checks the answer: the "Output
shape" and "Parameters" metrics shown must equal what `core.arithmetic` computes for that
student's settings (or, where core rejects the settings, the page must say "No output with
these settings"); a page with an exception, or that never answers, is an error.

With --kill-worker-at T (classroom mode), worker w1 is SIGKILLed T seconds into the window;
every student reconnects as a browser does (the page again, its cookies kept), and a line says
how many sessions the kill cut (w1's students: their Streamlit sessions lived in it), how many
requests after it failed (the goal: 0, HAProxy sends each to a live worker), how soon w1's
students got an answer again (their next change after the kill: their own pause included),
and when the launcher had w1 back.

Server CPU: utime + stime of the server's process tree (/proc/<pid>/stat) over the measured
window, per change and as a percentage of one core. `--mode plain` starts `streamlit run
dashboard/Home.py` (the repo's settings); `--mode classroom` starts `python -m classroom` and
counts every process below it. Prints measurements, never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from core.convolution.arithmetic import conv_output_size, conv_param_count  # noqa: E402
from tests.e2e.conftest import free_port, wait_for_health  # noqa: E402

PAGE_URL_PATH = "convolution"
# What a student changes: the explorer's 2D convolution controls (sidebar keys) and their
# ranges on the page. A change is one step, + or -, as the number inputs' buttons and the
# sliders' arrow keys make it; some settings have no output (a kernel wider than the padded
# input), which the page must say.
CONTROLS = {
    "h": (1, 28),
    "w": (1, 64),
    "cin": (1, 8),
    "cout": (1, 8),
    "kh": (1, 7),
    "kw": (1, 7),
    "ph": (0, 6),
    "pw": (0, 6),
    "sh": (1, 4),
    "sw": (1, 4),
    "dh": (1, 4),
    "dw": (1, 4),
}
NO_OUTPUT = "No output with these settings"
SLOW_S = 5.0  # "requests over 5 s"
ANSWER_TIMEOUT_S = 60.0
CACHE_MAX_AGE = 2  # script runs a cached message survives unused (Streamlit's frontend default)
RUN_FINISHED = ForwardMsg.ScriptFinishedStatus


# ---------------------------------------------------------------------- the answer checker
@dataclass(frozen=True)
class Expected:
    shape: str | None  # "C×H×W" as the page writes it; None where core rejects the settings
    params: str | None


def expected_answer(settings: dict[str, int]) -> Expected:
    """What the explorer must show for these 2D convolution settings, from core.arithmetic."""
    s = settings
    try:
        out_h = conv_output_size(s["h"], s["kh"], s["ph"], s["sh"], s["dh"])
        out_w = conv_output_size(s["w"], s["kw"], s["pw"], s["sw"], s["dw"])
    except ValueError:
        return Expected(None, None)
    params = conv_param_count(s["cin"], s["cout"], (s["kh"], s["kw"]), bias=False)
    return Expected(f"{s['cout']}×{out_h}×{out_w}", f"{params:,}")


def check_page(settings: dict[str, int], page: PageView) -> str | None:
    """None when the page shows what core computes for `settings`; else what is wrong."""
    if page.exceptions:
        return f"exception on the page: {page.exceptions[0]}"
    expected = expected_answer(settings)
    metrics = page.metrics()
    if expected.shape is None:
        if any(NO_OUTPUT in text for text in page.alerts()):
            return None
        return f"core rejects {settings} but the page shows no error (metrics {metrics})"
    shown = (metrics.get("Output shape"), metrics.get("Parameters"))
    if shown != (expected.shape, expected.params):
        return (
            f"page shows shape {shown[0]}, parameters {shown[1]}; core says {expected.shape},"
            f" {expected.params} for {settings}"
        )
    return None


# ---------------------------------------------------------------------- the browser's side
@dataclass
class Node:
    element: object  # a streamlit.proto Element or Block
    run_id: str
    fragment_id: str


@dataclass
class PageView:
    """The element tree a browser builds from ForwardMsgs, and its widgets' values."""

    nodes: dict[tuple[int, ...], Node] = field(default_factory=dict)
    # widget id -> (WidgetState field, value), kept across runs as the browser keeps them
    values: dict[str, tuple[str, object]] = field(default_factory=dict)
    fragment_of: dict[str, str] = field(default_factory=dict)
    cache: dict[str, ForwardMsg] = field(default_factory=dict)
    cache_age: dict[str, int] = field(default_factory=dict)
    run_id: str = ""
    fragments_this_run: tuple[str, ...] = ()
    page_hash: str = ""
    query_string: str = ""
    exceptions: list[str] = field(default_factory=list)

    def apply(self, msg: ForwardMsg) -> int | None:
        """Take one ForwardMsg; return the finished status at `script_finished`, else None."""
        kind = msg.WhichOneof("type")
        if msg.metadata.HasField("run") and msg.metadata.run.script_run_id:
            if msg.metadata.run.script_run_id != self.run_id:
                self.run_id = msg.metadata.run.script_run_id
                self.fragments_this_run = tuple(msg.metadata.run.fragment_ids)
                self.exceptions = []
        if kind == "ref_hash":
            cached = self.cache.get(msg.ref_hash)
            if cached is None:
                raise ProtocolError(f"server referred to a message never sent: {msg.ref_hash}")
            full = ForwardMsg()
            full.CopyFrom(cached)
            full.metadata.CopyFrom(msg.metadata)
            msg, kind = full, "delta"
        elif msg.metadata.cacheable:
            self.cache[msg.hash] = msg
        if msg.hash in self.cache:
            self.cache_age[msg.hash] = 0
        if kind == "navigation":
            pages = {page.url_pathname: page.page_script_hash for page in msg.navigation.app_pages}
            if PAGE_URL_PATH not in pages:
                raise ProtocolError(f"no page at /{PAGE_URL_PATH}: {sorted(pages)}")
            self.page_hash = msg.navigation.page_script_hash
            if self.page_hash != pages[PAGE_URL_PATH]:
                raise ProtocolError("the server navigated away from the explorer")
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            raise ProtocolError(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "delta":
            self._delta(msg)
        elif kind == "script_finished":
            self._clear_stale(msg.script_finished)
            return msg.script_finished
        return None

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        path = tuple(msg.metadata.delta_path)
        which = delta.WhichOneof("type")
        if which == "new_element":
            element = delta.new_element
            self.nodes[path] = Node(element, self.run_id, delta.fragment_id)
            kind = element.WhichOneof("type")
            if kind == "exception":
                self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
            state = widget_state(element)
            if state is not None:
                widget_id, set_value, value = state
                self.fragment_of[widget_id] = delta.fragment_id
                if set_value or widget_id not in self.values:
                    if value is None:
                        self.values.pop(widget_id, None)
                    else:
                        self.values[widget_id] = value
        elif which == "add_block":
            self.nodes[path] = Node(delta.add_block, self.run_id, delta.fragment_id)

    def _clear_stale(self, status: int) -> None:
        """What the browser does at the end of a run: drop what this run did not draw."""
        if status == RUN_FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            fragments = set(self.fragments_this_run)
            stale = [
                path
                for path, node in self.nodes.items()
                if node.fragment_id in fragments and node.run_id != self.run_id
            ]
        elif status == RUN_FINISHED.FINISHED_SUCCESSFULLY:
            stale = [path for path, node in self.nodes.items() if node.run_id != self.run_id]
        else:
            return
        for path in stale:
            del self.nodes[path]
        alive = {self._widget_id(node.element) for node in self.nodes.values()}
        for widget_id in [w for w in self.values if w not in alive]:
            del self.values[widget_id]
        for digest in list(self.cache_age):
            self.cache_age[digest] += 1
            if self.cache_age[digest] > CACHE_MAX_AGE:
                del self.cache_age[digest]
                self.cache.pop(digest, None)

    @staticmethod
    def _widget_id(element) -> str | None:
        kind = element.WhichOneof("type") if hasattr(element, "WhichOneof") else None
        inner = getattr(element, kind, None) if kind else None
        return getattr(inner, "id", None) or None

    def elements(self, kind: str) -> list:
        found = []
        for path in sorted(self.nodes):
            element = self.nodes[path].element
            if getattr(element, "DESCRIPTOR", None) is not None and (
                element.DESCRIPTOR.name == "Element" and element.WhichOneof("type") == kind
            ):
                found.append(getattr(element, kind))
        return found

    def metrics(self) -> dict[str, str]:
        return {metric.label: metric.body for metric in self.elements("metric")}

    def alerts(self) -> list[str]:
        return [alert.body for alert in self.elements("alert")]

    def widget_id(self, key: str) -> str:
        """The id of the widget with this user key (Streamlit ends ids with '-<key>')."""
        for widget_id in self.values:
            if widget_id.endswith(f"-{key}"):
                return widget_id
        raise ProtocolError(f"no widget with key {key!r} on the page")

    def rerun_message(self, fragment_id: str = "") -> BackMsg:
        """The BackMsg a browser sends to rerun: every widget's value, the page, the cache."""
        message = BackMsg()
        rerun = message.rerun_script
        rerun.query_string = self.query_string
        rerun.page_script_hash = self.page_hash
        rerun.page_name = "" if self.page_hash else PAGE_URL_PATH
        rerun.fragment_id = fragment_id
        rerun.cached_message_hashes.extend(self.cache)
        rerun.context_info.timezone = "UTC"
        rerun.context_info.timezone_offset = 0
        rerun.context_info.locale = "en-US"
        rerun.context_info.is_embedded = False
        for widget_id, (slot, value) in self.values.items():
            state = rerun.widget_states.widgets.add()
            state.id = widget_id
            if slot in ("double_array_value", "string_array_value"):
                getattr(state, slot).data.extend(value)
            else:
                setattr(state, slot, value)
        return message


class ProtocolError(RuntimeError):
    pass


def widget_state(element) -> tuple[str, bool, tuple[str, object] | None] | None:
    """(widget id, whether the server sets its value, (WidgetState field, value)) of a
    widget element, as the browser's widget manager records it; None for other elements
    and for triggers (buttons), which carry no state between runs."""
    kind = element.WhichOneof("type")
    w = getattr(element, kind) if kind else None
    if kind == "number_input":
        if w.HasField("value"):
            raw = w.value
        elif w.HasField("default"):
            raw = w.default
        else:
            return w.id, w.set_value, None
        if w.data_type == NumberInput.INT:
            return w.id, w.set_value, ("int_value", int(raw))
        return w.id, w.set_value, ("double_value", float(raw))
    if kind == "slider":
        raw = list(w.value if w.set_value else w.default)
        if w.type == Slider.SELECT_SLIDER:
            return w.id, w.set_value, ("string_array_value", [w.options[int(i)] for i in raw])
        return w.id, w.set_value, ("double_array_value", raw)
    if kind in ("selectbox", "radio"):
        if w.set_value and w.HasField("raw_value"):
            return w.id, True, ("string_value", w.raw_value)
        if w.HasField("default"):
            return w.id, w.set_value, ("string_value", w.options[w.default])
        return w.id, w.set_value, None
    if kind == "checkbox":
        return w.id, w.set_value, ("bool_value", w.value if w.set_value else w.default)
    if kind == "button_group":
        if w.set_value:
            chosen = list(w.raw_values)
        else:
            chosen = [w.options[i].content for i in w.default]
        return w.id, w.set_value, ("string_array_value", chosen)
    return None


# ---------------------------------------------------------------------- one student
@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    changes: int = 0
    # (perf_counter time, "dropped" | "request"): a session's connection that its worker's
    # death cut, or a request that failed (no answer, a wrong one, a reload refused)
    failed_at: list[tuple[float, str]] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)  # ... of changes answered
    reconnected_at: list[float] = field(default_factory=list)


class Student:
    """One browser tab on the explorer. `misreport` makes it believe every change it sends
    was one larger than it was: the check must then fail (tests prove it can)."""

    def __init__(
        self,
        url: str,
        rng: random.Random,
        mean_gap_s: float,
        misreport: bool = False,
        controls: tuple[str, ...] = tuple(CONTROLS),
    ):
        parts = urlsplit(url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path.rstrip("/")
        self.stream = f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
        self.rng = rng
        self.mean_gap_s = mean_gap_s
        self.misreport = misreport
        self.controls = controls
        self.reconnect = False  # on a dropped connection: count it and stop (True: go on)
        self.page = PageView()
        self.settings: dict[str, int] = {}
        self.socket = None
        self.jar = http.cookiejar.CookieJar()  # kept, as a browser keeps its cookies
        self.answered: list[float] = []  # perf_counter times of right answers

    def _get_page(self) -> str:
        """GET the page as the browser does before its WebSocket; the cookies it holds (a
        proxy's sticky-worker and student cookies), as a Cookie header."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        with opener.open(f"{self.origin}{self.path}/{PAGE_URL_PATH}", timeout=30) as response:
            response.read()
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    async def open(self) -> None:
        """Load the page and connect (not measured: the window starts after every load)."""
        self.page = PageView()
        cookies = await asyncio.to_thread(self._get_page)
        self.socket = await websockets.connect(
            self.stream,
            subprotocols=["streamlit"],
            origin=self.origin,
            additional_headers={"Cookie": cookies} if cookies else None,
            max_size=None,
            open_timeout=ANSWER_TIMEOUT_S,
        )
        status = await self._run(self.page.rerun_message())
        if status != RUN_FINISHED.FINISHED_SUCCESSFULLY:
            raise ProtocolError(f"first load finished with status {status}")
        for key in CONTROLS:
            slot, value = self.page.values[self.page.widget_id(key)]
            self.settings[key] = int(value[0] if isinstance(value, list) else value)
        problem = check_page(self.settings, self.page)
        if problem:
            raise ProtocolError(f"first load: {problem}")

    async def _run(self, message: BackMsg) -> int:
        await self.socket.send(message.SerializeToString())
        while True:
            data = await asyncio.wait_for(self.socket.recv(), ANSWER_TIMEOUT_S)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            status = self.page.apply(msg)
            if status is not None and status != RUN_FINISHED.FINISHED_EARLY_FOR_RERUN:
                return status

    async def change_one(self) -> tuple[float, str | None]:
        """Change one control as a user would; (latency ms, problem or None)."""
        key = self.rng.choice(self.controls)
        low, high = CONTROLS[key]
        step = self.rng.choice((-1, 1)) if low < self.settings[key] < high else 0
        value = self.settings[key] + (step or (1 if self.settings[key] == low else -1))
        widget_id = self.page.widget_id(key)
        slot, _old = self.page.values[widget_id]
        self.page.values[widget_id] = (
            slot,
            [float(value)] if slot.endswith("array_value") else value,
        )
        self.settings[key] = value + 1 if self.misreport else value
        message = self.page.rerun_message(self.page.fragment_of.get(widget_id, ""))
        started = time.perf_counter()
        try:
            status = await self._run(message)
        except (TimeoutError, asyncio.TimeoutError):
            return ANSWER_TIMEOUT_S * 1000, f"no answer within {ANSWER_TIMEOUT_S:.0f} s"
        latency = (time.perf_counter() - started) * 1000
        if status not in (
            RUN_FINISHED.FINISHED_SUCCESSFULLY,
            RUN_FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ):
            return latency, f"run finished with status {status}"
        return latency, check_page(self.settings, self.page)

    async def work(self, start: float, until: float, result: Result) -> None:
        """Change controls from `start` to `until` (perf_counter times)."""
        next_at = start + self.rng.uniform(0, 2 * self.mean_gap_s)
        while True:
            delay = min(next_at, until) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() >= until:
                return
            sent = time.perf_counter()
            try:
                latency, problem = await self.change_one()
            except (ProtocolError, websockets.ConnectionClosed, OSError) as error:
                result.changes += 1
                result.errors.append(f"{type(error).__name__}: {error}")
                dropped = isinstance(error, websockets.ConnectionClosed)
                result.failed_at.append((sent, "dropped" if dropped else "request"))
                if not self.reconnect:
                    return
                # As the browser does when its connection drops: load the page again (its
                # cookies kept) and go on; until that works, each try is one more failure.
                while time.perf_counter() < until:
                    try:
                        await self.open()
                        break
                    except (ProtocolError, websockets.ConnectionClosed, OSError) as again:
                        result.errors.append(f"reconnecting: {type(again).__name__}: {again}")
                        result.failed_at.append((time.perf_counter(), "request"))
                        await asyncio.sleep(1.0)
                result.reconnected_at.append(time.perf_counter())
                next_at = time.perf_counter()
                continue
            result.changes += 1
            result.latencies_ms.append(latency)
            result.done_at.append(sent)
            if not problem:
                self.answered.append(time.perf_counter())
            if problem:
                result.errors.append(problem)
                result.failed_at.append((sent, "request"))
            next_at = sent + self.rng.expovariate(1 / self.mean_gap_s)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


# ---------------------------------------------------------------------- server CPU
def process_tree(root: int) -> set[int]:
    """`root` and every process below it, from /proc/*/stat's parent ids."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError):
                continue
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return tree


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds (children reaped count with their parent)."""
    ticks = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[11:15] are utime, stime, cutime, cstime (stat fields 14-17)
        times[pid] = sum(int(value) for value in fields[11:15]) / ticks
    return times


class ServerCPU:
    def __init__(self, root_pids: list[int]):
        self.root_pids = root_pids

    def snapshot(self) -> dict[int, float]:
        pids = set()
        for root in self.root_pids:
            pids |= process_tree(root)
        return cpu_seconds(pids)

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds between two snapshots (a process born in between counts from zero)."""
        return sum(after[pid] - before.get(pid, 0.0) for pid in after)


# ---------------------------------------------------------------------- servers
HEALTH_SECONDS = 120.0


def start_plain(log) -> tuple[subprocess.Popen, str]:
    """`streamlit run dashboard/Home.py` from the repo root, with the repo's settings."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/Home.py"]
        + ["--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url, process, timeout=HEALTH_SECONDS)
    return process, url


def start_classroom(workers: int, log, timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """`python -m classroom`; its URL from the line "Classroom ready at http://..."."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "classroom", "--workers", str(workers)]
        + ["--host", "127.0.0.1", "--port", str(port), "--teacher-token", secrets.token_hex(16)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready: list[str] = []
    seen = threading.Event()

    def copy_output() -> None:  # to the log, all of it, so a full pipe never blocks it
        for line in process.stdout:
            LAUNCHER_LINES.append((time.perf_counter(), line.rstrip("\n")))
            log.write(line)
            log.flush()
            found = re.search(r"Classroom ready at (https?://[^\s,;]+)", line)
            if found and not ready:
                ready.append(found.group(1).rstrip("/."))
                seen.set()
        seen.set()

    threading.Thread(target=copy_output, daemon=True).start()
    seen.wait(timeout)
    if not ready:
        stop(process)
        raise RuntimeError(
            f"python -m classroom not ready within {timeout:.0f} s (log: {log.name})"
        )
    wait_for_health(ready[0], process, timeout=HEALTH_SECONDS)
    return process, ready[0]


LAUNCHER_LINES: list[tuple[float, str]] = []  # (perf_counter, line) of python -m classroom


def worker_pid(name: str) -> int:
    """The pid of the classroom's worker `name` ("w1"), from the launcher's haproxy.cfg."""
    lines = [line for _, line in LAUNCHER_LINES if "haproxy.cfg: " in line]
    found = re.search(r"haproxy\.cfg: (\S+)\)", lines[0])
    config = (Path(found.group(1)) / "haproxy.cfg").read_text()
    port = re.search(rf"server {name} 127\.0\.0\.1:(\d+)", config).group(1)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "streamlit" in command and f"--server.port {port} " in command:
                return int(entry)
    raise RuntimeError(f"no process for worker {name} (port {port})")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---------------------------------------------------------------------- one measurement
@dataclass
class Measurement:
    students: int
    seconds: float
    changes: int
    latencies_ms: list[float]
    errors: list[str]
    server_cpu_s: float
    client_cpu_s: float
    load: str
    kill: str | None = None  # what killing a worker mid-load cost, in a line

    @property
    def slow(self) -> int:
        return sum(1 for latency in self.latencies_ms if latency > SLOW_S * 1000)


async def measure(
    url: str,
    students: int,
    seconds: float,
    seed: int,
    server: ServerCPU | None,
    mean_gap_s: float = 2.0,
    misreport: bool = False,
    controls: tuple[str, ...] = tuple(CONTROLS),
    kill_at: float | None = None,
) -> Measurement:
    """Open `students` sessions, then let them change controls for `seconds`; with `kill_at`
    (classroom mode), SIGKILL worker w1 that many seconds in, the students reconnecting as a
    browser does, and report the failures and the time to recover."""
    crowd = [
        Student(url, random.Random(f"{seed}-{index}"), mean_gap_s, misreport, controls)
        for index in range(students)
    ]
    result = Result()
    opened = []
    # Open a few at a time, as a class arrives; not measured.
    for start in range(0, students, 10):
        batch = crowd[start : start + 10]
        outcomes = await asyncio.gather(*(s.open() for s in batch), return_exceptions=True)
        for student, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                result.errors.append(f"opening: {type(outcome).__name__}: {outcome}")
            else:
                opened.append(student)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    before = server.snapshot() if server else {}
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    killed: list[float] = []
    victims: list[Student] = []

    async def kill_worker() -> None:
        await asyncio.sleep(kill_at)
        victims.extend(s for s in opened if s.cookie("cnn_worker") == "w1")
        os.kill(worker_pid("w1"), signal.SIGKILL)
        killed.append(time.perf_counter())

    for student in opened:
        student.reconnect = kill_at is not None
    tasks = [s.work(started, started + seconds, result) for s in opened]
    if kill_at is not None:
        tasks.append(kill_worker())
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    kill_line = None
    if killed:
        kill_line = kill_summary(killed[0], victims, result, started + seconds)
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = ServerCPU.used(before, server.snapshot()) if server else float("nan")
    await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    client_cpu = (client_after.ru_utime - client_before.ru_utime) + (
        client_after.ru_stime - client_before.ru_stime
    )
    return Measurement(
        students,
        elapsed,
        result.changes,
        result.latencies_ms,
        result.errors,
        server_cpu,
        client_cpu,
        load,
        kill_line,
    )


CHECK_INTERVAL_S = 2.0  # HAProxy's `inter 1s fall 2` (classroom/haproxy.py)


def kill_summary(killed: float, victims: list, result: Result, end: float) -> str:
    """After the kill: the sessions it cut (each of w1's students loses its connection once,
    as its Streamlit session lived in that process), the requests that failed (the goal: none,
    HAProxy sends every new one to a live worker), how soon w1's students got an answer again,
    and when the launcher said w1 was back."""
    dropped = [t for t, kind in result.failed_at if kind == "dropped"]  # sent before it, too
    failed = [t for t, kind in result.failed_at if t >= killed and kind == "request"]
    late = [t for t in failed if t >= killed + CHECK_INTERVAL_S]
    requests = sum(1 for t in result.done_at if t >= killed) + len(failed)
    back = next(
        (t - killed for t, line in LAUNCHER_LINES if t >= killed and " is back" in line), None
    )
    recovered = [min((t for t in s.answered if t > killed), default=None) for s in victims]
    waits = sorted(t - killed for t in recovered if t is not None)
    share = len(failed) / requests if requests else float("nan")
    line = (
        f"killed w1 ({len(victims)} students on it): {len(dropped)} sessions cut;"
        f" {len(failed)} of {requests} requests after it failed ({share:.1%}),"
        f" {len(late)} more than {CHECK_INTERVAL_S:.0f} s after the kill"
    )
    if waits:
        line += (
            f"; its students answered again after {waits[len(waits) // 2]:.1f} s (median),"
            f" {waits[-1]:.1f} s (slowest; {len(victims) - len(waits)} never)"
        )
    return line + (f"; the launcher had w1 back after {back:.1f} s" if back else "; w1 not back")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(m: Measurement) -> str:
    lat = m.latencies_ms
    per_change = m.server_cpu_s / m.changes * 1000 if m.changes else float("nan")
    return (
        f"{m.students:4d} students {m.seconds:5.1f} s | changes {m.changes:5d}"
        f" | p50 {percentile(lat, 0.5):6.0f} ms p95 {percentile(lat, 0.95):6.0f} ms"
        f" max {max(lat, default=float('nan')):6.0f} ms | errors {len(m.errors):3d}"
        f" | over {SLOW_S:.0f} s {m.slow:3d} | server CPU {per_change:5.1f} ms/change"
        f" {m.server_cpu_s / m.seconds * 100:5.0f}% | client CPU"
        f" {m.client_cpu_s / m.seconds * 100:4.0f}% | load before {m.load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("plain", "classroom"), default="plain")
    parser.add_argument("--workers", type=int, default=2, help="classroom mode's workers")
    parser.add_argument("--url", help="an already running server (then --pid for its CPU)")
    parser.add_argument("--pid", type=int, nargs="*", default=[], help="server process ids")
    parser.add_argument("--students", type=int, nargs="+", default=[30, 60, 100])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per count")
    parser.add_argument("--gap", type=float, default=2.0, help="mean seconds between changes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--controls",
        nargs="+",
        choices=tuple(CONTROLS),
        default=tuple(CONTROLS),
        metavar="KEY",
        help=f"the controls students change (default: all of {', '.join(CONTROLS)})",
    )
    parser.add_argument(
        "--kill-worker-at",
        type=float,
        metavar="SECONDS",
        help="classroom mode: SIGKILL worker w1 this many seconds into each window; students"
        " reconnect as browsers do, and the failures and the time to recover are reported",
    )
    parser.add_argument("--log", default="/tmp/classroom_load_server.log")
    args = parser.parse_args()

    process = None
    with open(args.log, "w") as log:
        if args.url:
            url, roots = args.url.rstrip("/"), args.pid
            wait_for_health(url, None, timeout=HEALTH_SECONDS)
        elif args.mode == "plain":
            process, url = start_plain(log)
            roots = [process.pid]
        else:
            process, url = start_classroom(args.workers, log)
            roots = [process.pid]
        server = ServerCPU(roots) if roots else None
        what = args.url or (
            "streamlit run dashboard/Home.py"
            if args.mode == "plain"
            else f"python -m classroom --workers {args.workers}"
        )
        print(f"server: {what} at {url}; {os.cpu_count()} CPUs; seed {args.seed}")
        print(f"each student changes one control every ~{args.gap:g} s (exponential gaps)")
        try:
            for count in args.students:
                result = asyncio.run(
                    measure(
                        url,
                        count,
                        args.seconds,
                        args.seed,
                        server,
                        args.gap,
                        False,
                        args.controls,
                        args.kill_worker_at,
                    )
                )
                print(report(result), flush=True)
                if result.kill:
                    print(f"    {result.kill}", flush=True)
                for problem in sorted(set(result.errors))[:5]:
                    print(f"    error: {problem}")
        finally:
            if process is not None:
                stop(process)


if __name__ == "__main__":
    main()
