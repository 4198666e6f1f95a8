"""The server is local-only however it is started, and refuses other hosts (DNS rebinding).

Real servers: `streamlit run <absolute path>/dashboard/Home.py` started from the repo root,
from dashboard/ and from a directory that has no `.streamlit/` of its own (the app's settings
must apply from all three), the listening sockets read from /proc/net/tcp{,6}, and raw
WebSocket handshakes on `/_stcore/stream`. The settings are one file, `.streamlit/config.toml`,
with `dashboard/.streamlit/config.toml` a link to it.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.serve import refusal

REPO_ROOT = Path(__file__).resolve().parents[2]
HOME = REPO_ROOT / "dashboard" / "Home.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The local addresses of the sockets that LISTEN on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A = TCP_LISTEN
                continue
            raw = bytes.fromhex(address)
            # the kernel prints each 32-bit word in host (little-endian) order
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            assert len(address) == width
            found.add(ipaddress.ip_address(packed))
    return found


def is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def other_addresses() -> list[str]:
    """This machine's addresses that are not loopback (`hostname -I`)."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [a for a in out.split() if not ipaddress.ip_address(a.split("%")[0]).is_loopback]


def handshake(port: int, host: str, origin: str | None) -> str:
    """Send a WebSocket upgrade for /_stcore/stream; the status line of the answer."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n"
        + (f"Origin: {origin}\r\n" if origin else "")
        + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def start(port: int, cwd: Path, runs: Path, *flags: str) -> subprocess.Popen:
    # Nothing from the caller's environment may decide the server's settings here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env["CNN_RUNS_DIR"] = str(runs)
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(HOME), "--server.port", str(port), *flags],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def wait_until_listening(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        for host in ("127.0.0.1", "[::1]"):
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2):
                    return
            except OSError:
                pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer on port {port} within {timeout:.0f} s")


WORKING_DIRECTORIES = {
    "repo-root": lambda tmp: REPO_ROOT,
    "dashboard": lambda tmp: REPO_ROOT / "dashboard",
    "elsewhere": lambda tmp: tmp,  # no .streamlit/ here
}


@pytest.fixture(params=list(WORKING_DIRECTORIES))
def serve(request, tmp_path: Path) -> Iterator:
    processes = []
    cwd = WORKING_DIRECTORIES[request.param](tmp_path)

    def run(*flags: str) -> int:
        port = free_port()
        processes.append(start(port, cwd, tmp_path / "runs", *flags))
        wait_until_listening(port, processes[-1])
        return port

    yield run
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_settings_are_one_file_and_a_link() -> None:
    top = REPO_ROOT / ".streamlit" / "config.toml"
    beside_home = REPO_ROOT / "dashboard" / ".streamlit" / "config.toml"
    assert top.is_file() and not top.is_symlink()
    assert beside_home.is_symlink() and beside_home.resolve() == top.resolve()
    assert 'address = "localhost"' in top.read_text()


def test_from_any_directory_it_listens_on_loopback_only(serve) -> None:
    port = serve()
    addresses = listening_addresses(port)
    assert addresses and all(is_loopback(a) for a in addresses), addresses
    for address in other_addresses():  # from this machine's own network address: refused
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family) as sock, pytest.raises(OSError):
            sock.settimeout(3)
            sock.connect((address, port))


def test_websocket_from_another_host_is_refused(serve) -> None:
    port = serve()
    assert handshake(port, "evil.example", "http://evil.example").split()[1] != "101"
    assert handshake(port, f"evil.example:{port}", None).split()[1] != "101"
    for name in ("localhost", "127.0.0.1", "[::1]"):
        status = handshake(port, f"{name}:{port}", f"http://{name}:{port}")
        assert status.split()[1] == "101", (name, status)


def test_opting_out_names_the_hosts(serve) -> None:
    port = serve("--server.allowedHosts", "cnn.example", "--server.allowedHosts", "localhost")
    assert handshake(port, f"cnn.example:{port}", f"http://cnn.example:{port}").split()[1] == (
        "101"
    )
    assert handshake(port, "evil.example", "http://evil.example").split()[1] != "101"


@pytest.mark.parametrize(
    "address,hosts,host,refused",
    [
        ("localhost", ["localhost", "127.0.0.1", "::1"], "localhost:8501", False),
        ("127.0.0.1", ["localhost", "127.0.0.1", "::1"], "[::1]:8501", False),
        ("localhost", ["localhost", "127.0.0.1", "::1"], "evil.example", True),
        ("localhost", [], "evil.example", True),  # a Streamlit without the check: still refused
        ("", [], "localhost:8501", True),  # the app's settings were not read: all interfaces
        ("0.0.0.0", ["localhost", "127.0.0.1", "::1"], "localhost", True),  # exposed by accident
        ("0.0.0.0", ["cnn.example"], "cnn.example:8501", False),  # exposed on purpose
        ("0.0.0.0", ["*"], "anything.example", False),
        ("0.0.0.0", ["*.example.org"], "a.example.org", False),
        ("0.0.0.0", ["*.example.org"], "example.org.evil", True),
        ("localhost", ["localhost"], None, False),  # no Host header: not a browser page
    ],
)
def test_refusal_rules(address, hosts, host, refused) -> None:
    assert (refusal(address, hosts, host) is not None) == refused
