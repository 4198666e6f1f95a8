"""The classroom start without Streamlit: which names it answers to, the haproxy.cfg it writes
(checked by `haproxy -c` and run by a real HAProxy in front of two tiny HTTP servers: sticky
worker cookie, student cookie, Host check), what each worker gets, and the command line's
one-line refusals. The real start, in a browser, is tests/e2e/test_classroom.py."""

from __future__ import annotations

import http.client
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from classroom import __main__ as cli
from classroom.haproxy import ProxySettings, haproxy_config, host_acl_values
from classroom.hosts import (
    HostError,
    allowed_hosts,
    bind_address,
    connect_address,
    is_wildcard,
    normalize,
)
from classroom.launch import (
    REPO_ROOT,
    ClassroomSettings,
    find_haproxy,
    free_ports,
    worker_command,
    worker_environment,
)
from dashboard.serve import refusal


def haproxy_binary() -> str:
    found = find_haproxy()
    if found is None:
        pytest.fail("HAProxy is not installed: run `make proxy` (Debian: apt-get install haproxy)")
    return found


def settings(**changes) -> ClassroomSettings:
    values = dict(
        workers=2,
        host="my-box.lan",
        port=8080,
        allowed_hosts=tuple(allowed_hosts("my-box.lan", [])),
        teacher_token="secret-token",
        runs_per_student=3,
    )
    values.update(changes)
    return ClassroomSettings(**values)


# --- names ---------------------------------------------------------------------------------


def test_allowed_hosts_put_the_class_name_first_then_loopback() -> None:
    assert allowed_hosts("My-Box.LAN.", []) == ["my-box.lan", "localhost", "127.0.0.1", "::1"]
    assert allowed_hosts("localhost", []) == ["localhost", "127.0.0.1", "::1"]
    assert allowed_hosts("192.168.1.20", ["my-box.lan"])[:2] == ["192.168.1.20", "my-box.lan"]
    assert allowed_hosts("[fe80::1]", [])[0] == "fe80::1"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "", "*"])
def test_all_interfaces_need_a_name(host: str) -> None:
    assert is_wildcard(host)
    with pytest.raises(HostError, match="--allowed-host"):
        allowed_hosts(host, [])
    assert allowed_hosts(host, ["my-box.lan"])[0] == "my-box.lan"


@pytest.mark.parametrize("name", ["*", "*.lan", "a b", "x;y", "ab_c", "-a", "a..b", "évil"])
def test_names_that_are_not_hosts_are_refused(name: str) -> None:
    with pytest.raises(HostError):
        normalize(name)


def test_bind_and_connect_addresses() -> None:
    assert bind_address("0.0.0.0", 8080) == "0.0.0.0:8080"
    assert bind_address("::", 8080) == "[::]:8080"
    assert bind_address("::1", 8080) == "[::1]:8080"
    assert bind_address("my-box.lan", 8080) == "my-box.lan:8080"
    assert connect_address("0.0.0.0") == "127.0.0.1"
    assert connect_address("::") == "::1"
    assert connect_address("my-box.lan") == "my-box.lan"


# --- haproxy.cfg ---------------------------------------------------------------------------


def proxy_settings(port: int = 8080, worker_ports=(9001, 9002), host="my-box.lan"):
    return ProxySettings(
        host=host,
        port=port,
        worker_ports=tuple(worker_ports),
        allowed_hosts=tuple(allowed_hosts(host, [] if not is_wildcard(host) else ["my-box.lan"])),
    )


def test_config_has_sticky_cookie_student_cookie_health_checks_and_timeouts() -> None:
    text = haproxy_config(proxy_settings())
    assert "mode http" in text
    assert "bind my-box.lan:8080" in text
    assert "balance leastconn" in text
    assert "cookie cnn_worker insert indirect nocache" in text
    assert "server w1 127.0.0.1:9001 cookie w1 check" in text
    assert "server w2 127.0.0.1:9002 cookie w2 check" in text
    assert "uri /_stcore/health" in text
    # No request to a dead or starting worker: out at the first refused connection or two
    # failed checks, a refused request retried on another worker.
    assert "option redispatch 1" in text and "retries 3" in text
    assert "inter 1s" in text and "fall 2 rise 2" in text
    assert "observe layer4 error-limit 1 on-error mark-down" in text
    assert "timeout tunnel 1h" in text
    for timeout in ("connect", "client", "server"):
        assert f"timeout {timeout} " in text
    assert "!{ req.cook(cnn_student) -m found }" in text
    assert "Set-Cookie" in text and "cnn_student=%[var(txn.new_student)]" in text
    assert "SameSite=Lax; HttpOnly" in text
    assert "-m str my-box.lan localhost 127.0.0.1 [::1]" in text


def test_config_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        haproxy_config(proxy_settings(worker_ports=()))


def test_host_acl_brackets_ipv6() -> None:
    assert host_acl_values(["fe80::1", "my-box.lan"]) == ["[fe80::1]", "my-box.lan"]


@pytest.mark.parametrize("host", ["localhost", "0.0.0.0", "::", "::1", "192.168.1.20"])
def test_haproxy_accepts_the_config(tmp_path: Path, host: str) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(proxy_settings(host=host, worker_ports=range(9001, 9009))))
    check = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr


class _Backend(http.server.BaseHTTPRequestHandler):
    """A stand-in worker: answers every path with its own name."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def proxy_with_two_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real HAProxy on 127.0.0.1 with our config, in front of two tiny HTTP servers."""
    tmp_path = tmp_path_factory.mktemp("haproxy")
    backends = []
    for name in ("one", "two"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        backends.append(server)
    (port,) = free_ports(1)
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        haproxy_config(
            ProxySettings(
                host="127.0.0.1",
                port=port,
                worker_ports=tuple(s.server_address[1] for s in backends),
                allowed_hosts=tuple(allowed_hosts("127.0.0.1", [])),
            )
        )
    )
    process = subprocess.Popen(
        [haproxy_binary(), "-f", str(config), "-db"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # up to 60 s on a busy machine
            try:
                if get(port, "/")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "haproxy exited"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        for server in backends:
            server.shutdown()


def get(port: int, path: str, host: str | None = None, cookie: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": host or f"127.0.0.1:{port}"}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        cookies = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            cookies[name] = rest
        return response.status, body, cookies
    finally:
        connection.close()


def test_first_request_gets_a_student_and_a_worker_cookie(proxy_with_two_backends: int) -> None:
    port = proxy_with_two_backends
    status, body, cookies = get(port, "/")
    assert status == 200 and body in ("one", "two")
    student = cookies["cnn_student"]
    value, *attributes = [part.strip() for part in student.split(";")]
    assert len(value) == 36 and value.count("-") == 4  # a UUID
    assert {"Path=/", "SameSite=Lax", "HttpOnly"} <= set(attributes)
    assert any(a.startswith("Max-Age=") and int(a.split("=")[1]) > 0 for a in attributes)
    assert cookies["cnn_worker"].split(";")[0] in ("w1", "w2")

    second = get(port, "/")[2]["cnn_student"].split(";")[0]
    assert second != value  # every new browser is a new student


def test_a_browser_with_cookies_keeps_them_and_its_worker(proxy_with_two_backends: int) -> None:
    port = proxy_with_two_backends
    for worker, name in (("w1", "one"), ("w2", "two")):
        for _ in range(3):
            status, body, cookies = get(
                port, "/", cookie=f"cnn_student=a-student-id; cnn_worker={worker}"
            )
            assert status == 200 and body == name
            assert cookies == {}  # nothing new to set: same student, same worker


def test_a_student_without_a_worker_gets_only_a_worker(proxy_with_two_backends: int) -> None:
    cookies = get(proxy_with_two_backends, "/", cookie="cnn_student=a-student-id")[2]
    assert set(cookies) == {"cnn_worker"}


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil"]
)
def test_other_names_are_refused_at_the_proxy(proxy_with_two_backends: int, host: str) -> None:
    status, body, cookies = get(proxy_with_two_backends, "/", host=host)
    assert status == 403 and "does not answer to this name" in body
    assert "cnn_worker" not in cookies


def test_loopback_names_are_served(proxy_with_two_backends: int) -> None:
    port = proxy_with_two_backends
    for host in ("localhost", f"LOCALHOST:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert get(port, "/", host=host)[0] == 200


# --- the workers -----------------------------------------------------------------------------


def test_workers_listen_on_loopback_and_answer_only_the_class_names() -> None:
    command = worker_command(40123, ("my-box.lan", "localhost", "127.0.0.1", "::1"))
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "40123"
    named = [command[i + 1] for i, arg in enumerate(command) if arg == "--server.allowedHosts"]
    assert named == ["my-box.lan", "localhost", "127.0.0.1", "::1"]
    assert str(REPO_ROOT / "dashboard" / "Home.py") in command
    assert "secret-token" not in " ".join(command)


def test_worker_environment(tmp_path: Path) -> None:
    env = worker_environment(settings(), "c" * 64, base={"CNN_RUNS_DIR": str(tmp_path), "A": "b"})
    assert env["CNN_CLASSROOM"] == "1"
    assert env["CNN_TEACHER_TOKEN"] == "secret-token"
    assert env["CNN_RUNS_PER_STUDENT"] == "3"
    assert env["CNN_RUNS_DIR"] == str(tmp_path.resolve())
    assert env["STREAMLIT_SERVER_COOKIE_SECRET"] == "c" * 64
    assert env["A"] == "b"
    # Without CNN_RUNS_DIR every worker still gets the same, absolute runs folder.
    default = worker_environment(settings(), "c", base={})["CNN_RUNS_DIR"]
    assert Path(default).is_absolute() and Path(default) == (REPO_ROOT / "runs").resolve()


def test_serve_check_lets_the_workers_serve_the_class_name_only() -> None:
    names = allowed_hosts("my-box.lan", [])
    assert refusal("127.0.0.1", names, "my-box.lan:8080") is None
    assert refusal("127.0.0.1", names, "localhost:40123") is None
    assert refusal("127.0.0.1", names, "evil.example:8080") is not None
    names = allowed_hosts("0.0.0.0", ["192.168.1.20"])
    assert refusal("127.0.0.1", names, "192.168.1.20:8080") is None
    assert refusal("127.0.0.1", names, "0.0.0.0:8080") is not None


# --- the command line ------------------------------------------------------------------------


def test_missing_haproxy_says_how_to_install_it(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "find_haproxy", lambda: None)
    code = cli.main(["--workers", "2", "--host", "localhost", "--port", "8080"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "apt-get install haproxy" in err


def test_all_interfaces_without_a_name_is_one_line(capsys) -> None:
    code = cli.main(["--host", "0.0.0.0", "--port", "8080"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--allowed-host" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--host", "localhost", "--port", "0"],
        ["--host", "localhost", "--port", "8080", "--workers", "0"],
        ["--host", "localhost", "--port", "8080", "--runs-per-student", "0"],
        ["--port", "8080"],
    ],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("via", ["argument", "environment"])
def test_a_short_teacher_token_is_refused_in_one_line(via, monkeypatch, capsys) -> None:
    args = ["--host", "localhost", "--port", "8080"]
    if via == "argument":
        args += ["--teacher-token", "eleven-char"]
    else:
        monkeypatch.setenv("CNN_TEACHER_TOKEN", "eleven-char")
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "is 11 characters" in err and "at least 12" in err


def test_a_dead_worker_is_started_again_with_a_back_off_then_given_up(tmp_path: Path) -> None:
    """classroom.launch.heal on real processes (a `sleep` for a worker): each death is said
    and restarted after 1, 2 ... s; one death more than --max-restarts stops the class."""
    from classroom.launch import Child, Classroom, ClassroomError, _popen, heal

    lines: list[str] = []
    command = ["sleep", "60"]
    log = tmp_path / "worker-1.log"
    worker = Child("worker 1 (port 1)", _popen(command, log, None, "wb"), log, None, command)
    room = Classroom(tmp_path, workers=[worker])
    room_settings = settings(max_restarts=2)
    try:
        for death, wait in ((1, 1.0), (2, 2.0)):
            worker.process.kill()
            worker.process.wait()
            heal(room, room_settings, lines.append, now=100.0 * death)
            assert lines[-1].startswith("worker 1 (port 1) was killed by SIGKILL (log: ")
            assert f"; starting it again in {wait:.0f} s" in lines[-1]
            assert f"(restart {death} of 2 allowed in 10 min)" in lines[-1]
            old = worker.process.pid
            heal(room, room_settings, lines.append, now=100.0 * death + wait - 0.1)
            assert worker.process.pid == old  # not before its back-off
            heal(room, room_settings, lines.append, now=100.0 * death + wait)
            assert worker.process.pid != old and worker.process.poll() is None
            assert lines[-1].startswith("worker 1 (port 1) started again (pid ")
        worker.process.kill()
        worker.process.wait()
        with pytest.raises(ClassroomError, match="died 3 times in 10 min, more than --max-r"):
            heal(room, room_settings, lines.append, now=300.0)
    finally:
        worker.process.kill()
        worker.process.wait()


def test_a_dead_proxy_stops_the_class(tmp_path: Path) -> None:
    from classroom.launch import Child, Classroom, ClassroomError, _popen, heal

    log = tmp_path / "haproxy.log"
    proxy = Child("haproxy", _popen(["true"], log, None, "wb"), log)
    proxy.process.wait()
    with pytest.raises(ClassroomError, match="haproxy exited with code 0"):
        heal(Classroom(tmp_path, proxy=proxy), settings(), print)


def test_haproxy_alerts_are_summed_up_in_one_line() -> None:
    from classroom.launch import summary

    log = (
        "[NOTICE]   (18892) : haproxy version is 2.6.12\n"
        "[ALERT]    (18892) : Binding [/tmp/x/haproxy.cfg:18] for frontend classroom: cannot"
        " bind socket (Address already in use) for [127.0.0.1:8080]\n"
        "[ALERT]    (18892) : [/usr/sbin/haproxy.main()] Some protocols failed. Exiting.\n"
    )
    assert summary(log).startswith("Binding [/tmp/x/haproxy.cfg:18] for frontend classroom")
    parse = "[ALERT]    (1) : config : parsing [/x.cfg:18] : 'bind' : invalid address: 'x'\n"
    assert summary(parse) == "'bind' : invalid address: 'x'"
    assert summary("starting\n\nURL: http://localhost:1\n\n") == "URL: http://localhost:1"
    assert summary("") == ""
