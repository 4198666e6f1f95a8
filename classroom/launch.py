"""Start, watch and stop a classroom: N `streamlit run dashboard/Home.py` workers on
127.0.0.1 and one HAProxy in front of them.

Every child runs in its own session (so the teacher's Ctrl-C reaches only the launcher, which
then stops them in order) and is asked by the kernel to end if the launcher dies
(PR_SET_PDEATHSIG), so neither a signal nor a crash of the launcher leaves a worker or the
proxy behind. Training runs started by the workers are their own sessions (core/training/jobs.py)
and, as with `make run`, outlive the server.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from classroom.haproxy import (
    HEALTH_PATH,
    WORKER_COOKIE,
    ProxySettings,
    haproxy_config,
    worker_name,
)
from classroom.hosts import connect_address, is_wildcard, url_host
from core.runs.store import RUNS_DIR_ENV, default_runs_dir
from core.training.ray_jobs import RAY_ADDRESS_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY = REPO_ROOT / "dashboard" / "Home.py"
# Debian installs HAProxy in /usr/sbin, which is not on an ordinary user's PATH.
HAPROXY_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
INSTALL_HINT = (
    "HAProxy is not installed: `apt-get install haproxy` (Debian/Ubuntu, as root), or `make proxy`"
)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RESTART_WINDOW = 600.0  # seconds: deaths older than this are forgiven
MAX_BACKOFF = 30.0


class ClassroomError(RuntimeError):
    """Why the classroom could not start or stopped by itself: one line for the teacher."""


@dataclass(frozen=True)
class ClassroomSettings:
    workers: int
    host: str
    port: int
    allowed_hosts: tuple[str, ...]  # classroom.hosts.allowed_hosts: names students use first
    teacher_token: str
    runs_per_student: int = 1
    start_timeout: float = 300.0
    # A worker that dies is started again (after 1, 2, 4 ... s, at most 30 s) unless it has
    # died more than this many times in the last RESTART_WINDOW seconds: then the class stops.
    max_restarts: int = 5
    # Train on this Ray cluster (core/training/ray_jobs.py) instead of the local queue.
    ray_address: str | None = None


@dataclass
class Child:
    name: str  # "worker 1 (port 40123)", "haproxy"
    process: subprocess.Popen
    log: Path
    port: int | None = None  # a worker's port on 127.0.0.1
    command: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    deaths: list[float] = field(default_factory=list)  # monotonic times it was found dead
    restart_at: float | None = None  # dead, to be started again then
    restarted_at: float | None = None  # started again, not yet answering its health check


@dataclass
class Classroom:
    """The running processes and where their logs and haproxy.cfg are."""

    state_dir: Path
    workers: list[Child] = field(default_factory=list)
    proxy: Child | None = None

    def children(self) -> list[Child]:
        return [*self.workers, *([self.proxy] if self.proxy else [])]


def find_haproxy() -> str | None:
    """The haproxy binary: on PATH, else in the sbin folders Debian uses."""
    found = shutil.which("haproxy")
    if found:
        return found
    for folder in HAPROXY_DIRS:
        candidate = Path(folder) / "haproxy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now (all held open while picking)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def worker_command(port: int, allowed_hosts: tuple[str, ...]) -> list[str]:
    """`streamlit run dashboard/Home.py` on 127.0.0.1:port, answering only to `allowed_hosts`."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRY),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    for name in allowed_hosts:
        command += ["--server.allowedHosts", name]
    return command


def worker_environment(
    settings: ClassroomSettings, cookie_secret: str, base: dict[str, str] | None = None
) -> dict[str, str]:
    """What every worker gets: classroom mode, the teacher token, the per-student limit, one
    runs folder, and one cookie secret (so a browser moved to another worker keeps a valid
    XSRF cookie). Secrets travel in the environment, never on a command line `ps` shows."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "CNN_CLASSROOM": "1",
            "CNN_TEACHER_TOKEN": settings.teacher_token,
            "CNN_RUNS_PER_STUDENT": str(settings.runs_per_student),
            RUNS_DIR_ENV: str(Path(env.get(RUNS_DIR_ENV) or default_runs_dir()).resolve()),
            "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret,
        }
    )
    if settings.ray_address:
        env[RAY_ADDRESS_ENV] = settings.ray_address
    return env


def _end_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM if the launcher dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the launcher's own handlers still stop them
        pass


def _popen(
    command: list[str], log: Path, env: dict[str, str] | None, mode: str
) -> subprocess.Popen:
    with open(log, mode) as output:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )


def _spawn(
    name: str, command: list[str], log: Path, env: dict[str, str] | None, port: int | None = None
) -> Child:
    return Child(name, _popen(command, log, env, "wb"), log, port, command, env)


_ALERT_PREFIX = re.compile(
    r"^\[ALERT\]\s*(\(\d+\))?\s*:\s*(config\s*:\s*)?(parsing \[[^]]*\]\s*:\s*)?"
)


def summary(text: str) -> str:
    """One line of a log for a message: HAProxy's first alert (its last ones only say that
    it gives up), else the last non-empty line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("[ALERT]"):
            return _ALERT_PREFIX.sub("", line)
    return lines[-1] if lines else ""


def log_summary(path: Path) -> str:
    try:
        return summary(path.read_text(errors="replace"))
    except OSError:
        return ""


def how_it_ended(child: Child) -> str:
    """ "worker 1 (port 40123) was killed by SIGKILL: <its log's last line> (log: ...)"."""
    code = child.process.poll()
    detail = log_summary(child.log)
    how = (
        f"was killed by {signal.Signals(-code).name}"
        if code is not None and code < 0 and -code in signal.valid_signals()
        else f"exited with code {code}"
    )
    return f"{child.name} {how}" + (f": {detail}" if detail else "") + f" (log: {child.log})"


def died(classroom: Classroom) -> ClassroomError | None:
    """The error for the first child that has exited, or None while all run."""
    for child in classroom.children():
        if child.process.poll() is not None:
            return ClassroomError(how_it_ended(child))
    return None


def backoff(deaths: int) -> float:
    """Seconds before the restart after a worker's `deaths`-th recent death: 1, 2, 4, ... 30."""
    return min(MAX_BACKOFF, 2.0 ** (deaths - 1))


def heal(
    classroom: Classroom,
    settings: ClassroomSettings,
    say: Callable[[str], None],
    now: float | None = None,
) -> None:
    """One look at the children: a dead proxy stops the class (ClassroomError); a dead worker
    is started again, on its port with its environment, after a back-off, or stops the class
    when it has died more than `settings.max_restarts` times in RESTART_WINDOW seconds. Says
    each death, restart and return in a line. HAProxy keeps students away from it meanwhile."""
    now = time.monotonic() if now is None else now
    if classroom.proxy is not None and classroom.proxy.process.poll() is not None:
        raise ClassroomError(how_it_ended(classroom.proxy))
    for child in classroom.workers:
        if child.restarted_at is not None and child.process.poll() is None:
            if child.port is not None and worker_ready(child.port):
                say(f"{child.name} is back, {now - child.deaths[-1]:.1f} s after it died")
                child.restarted_at = None
            continue
        if child.restart_at is None and child.process.poll() is not None:
            child.deaths = [t for t in child.deaths if now - t < RESTART_WINDOW] + [now]
            ended = how_it_ended(child)
            recent = len(child.deaths)
            if recent > settings.max_restarts:
                window = f"{RESTART_WINDOW / 60:.0f} min"
                raise ClassroomError(
                    f"{ended}; it died {recent} times in {window}, more than"
                    f" --max-restarts {settings.max_restarts}"
                )
            wait = backoff(recent)
            child.restart_at = now + wait
            say(
                f"{ended}; starting it again in {wait:.0f} s"
                f" (restart {recent} of {settings.max_restarts} allowed in"
                f" {RESTART_WINDOW / 60:.0f} min); HAProxy sends its students to the others"
            )
        if child.restart_at is not None and now >= child.restart_at:
            child.process = _popen(child.command, child.log, child.env, "ab")
            child.restart_at, child.restarted_at = None, now
            say(f"{child.name} started again (pid {child.process.pid})")


def start(settings: ClassroomSettings, haproxy: str, state_dir: Path) -> Classroom:
    """Write haproxy.cfg, check it, start the workers and the proxy (not yet waiting)."""
    classroom = Classroom(state_dir)
    ports = free_ports(settings.workers)
    config = state_dir / "haproxy.cfg"
    config.write_text(
        haproxy_config(
            ProxySettings(
                host=settings.host,
                port=settings.port,
                worker_ports=tuple(ports),
                allowed_hosts=settings.allowed_hosts,
            )
        )
    )
    check = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        detail = summary(check.stderr + check.stdout) or f"exit status {check.returncode}"
        raise ClassroomError(f"haproxy refused its configuration ({config}): {detail}")
    env = worker_environment(settings, cookie_secret=secrets.token_hex(32))
    try:
        for index, port in enumerate(ports, start=1):
            classroom.workers.append(
                _spawn(
                    f"worker {index} (port {port})",
                    worker_command(port, settings.allowed_hosts),
                    state_dir / f"worker-{index}.log",
                    env,
                    port,
                )
            )
        classroom.proxy = _spawn(
            "haproxy", [haproxy, "-f", str(config), "-db"], state_dir / "haproxy.log", None
        )
    except BaseException:
        stop(classroom)
        raise
    return classroom


def _get(address: str, port: int, path: str, host_header: str, cookie: str | None = None):
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        headers = {"Host": host_header}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Set-Cookie") or ""
    finally:
        connection.close()


def worker_ready(port: int) -> bool:
    try:
        status, _ = _get("127.0.0.1", port, HEALTH_PATH, "localhost")
    except OSError:
        return False
    return status == 200


def proxy_forwards_to(settings: ClassroomSettings, index: int) -> bool:
    """Whether HAProxy answers on HOST:PORT and hands a browser that holds worker `index`'s
    cookie to that worker (indirect cookies: a valid one is not set again)."""
    host_header = f"{url_host(settings.allowed_hosts[0])}:{settings.port}"
    try:
        status, set_cookie = _get(
            connect_address(settings.host),
            settings.port,
            HEALTH_PATH,
            host_header,
            cookie=f"{WORKER_COOKIE}={worker_name(index)}; cnn_student=classroom-launcher",
        )
    except OSError:
        return False
    return status == 200 and f"{WORKER_COOKIE}=" not in set_cookie


def wait_until_ready(
    classroom: Classroom,
    settings: ClassroomSettings,
    stopping: threading.Event,
    ports: list[int],
) -> bool:
    """Wait for every worker's health and the proxy's forwarding to each. False when asked
    to stop first; raises ClassroomError when a child dies or time runs out."""
    deadline = time.monotonic() + settings.start_timeout
    pending_workers = set(range(1, len(ports) + 1))
    pending_proxy = set(pending_workers)
    while pending_workers or pending_proxy:
        if stopping.is_set():
            return False
        problem = died(classroom)
        if problem:
            raise problem
        if time.monotonic() > deadline:
            waiting = sorted(pending_workers) or sorted(pending_proxy)
            raise ClassroomError(
                f"not ready after {settings.start_timeout:.0f} s (still waiting for"
                f" {'worker' if pending_workers else 'haproxy to forward to worker'}"
                f" {', '.join(map(str, waiting))}; logs in {classroom.state_dir})"
            )
        pending_workers = {i for i in pending_workers if not worker_ready(ports[i - 1])}
        if not pending_workers:
            pending_proxy = {i for i in pending_proxy if not proxy_forwards_to(settings, i)}
        if pending_workers or pending_proxy:
            stopping.wait(0.5)
    return True


def stop(classroom: Classroom, grace: float = 15.0) -> None:
    """The proxy first (no new requests), then every worker: SIGTERM, then SIGKILL after
    `grace` seconds; returns when all have exited."""
    ordered = ([classroom.proxy] if classroom.proxy else []) + classroom.workers
    for child in ordered:
        if child.process.poll() is None:
            try:
                child.process.terminate()
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for child in ordered:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def run(
    settings: ClassroomSettings,
    haproxy: str,
    say: Callable[[str], None],
    state_dir: Path | None = None,
) -> int:
    """Start the classroom, say when it is ready, serve until a stop signal (restarting a
    worker that dies, `heal`); always stop every child. 0 after a stop signal; raises
    ClassroomError when the start fails, the proxy dies or a worker dies too often."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in STOP_SIGNALS}
    own_state_dir = state_dir is None
    state_dir = state_dir or Path(tempfile.mkdtemp(prefix="cnn-classroom-"))
    classroom = Classroom(state_dir)
    failed = True
    try:
        workers = f"{settings.workers} worker{'s' if settings.workers > 1 else ''}"
        say(f"Starting {workers} and haproxy (logs, haproxy.cfg: {state_dir})")
        classroom = start(settings, haproxy, state_dir)
        ports = [child.port for child in classroom.workers]
        if wait_until_ready(classroom, settings, stopping, ports):
            url = f"http://{url_host(settings.host)}:{settings.port}"
            line = f"Classroom ready at {url} ({settings.workers} workers)"
            if is_wildcard(settings.host):
                line += f"; students open http://{url_host(settings.allowed_hosts[0])}"
                line += f":{settings.port}"
            say(line + ". Ctrl-C stops it.")
            while not stopping.wait(0.5):
                heal(classroom, settings, say)
        failed = False
        return 0
    finally:
        stop(classroom)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if own_state_dir and not failed:
            shutil.rmtree(state_dir, ignore_errors=True)
