"""Who may use this server: local only, unless the user opts out on purpose.

The app starts training processes on this machine, so it must not be reachable from the
network, nor from a web page that re-points its own name at 127.0.0.1 (DNS rebinding: the
browser then sends `Host: evil.example`). Streamlit enforces both from the settings in
`.streamlit/config.toml` (read through its link beside Home.py; bind address `localhost`,
`server.allowedHosts`); `refusal` repeats the check in every script run, so that a server
that did not get those settings (an older Streamlit, a deleted file) refuses to serve
instead of serving everyone.

How it shares the machine: `one_torch_thread`.
"""

from __future__ import annotations

import ipaddress
import sys
from urllib.parse import urlsplit

from core.i18n import _

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
OPT_OUT = (
    "streamlit run dashboard/Home.py --server.address 0.0.0.0"
    " --server.allowedHosts <the name or address you browse to>"
)


def is_loopback(address: str) -> bool:
    """Whether a bind address (a name or an IP) is this machine only."""
    name = address.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # "" (all interfaces), 0.0.0.0, ::, another name or a unix socket


def host_name(host_header: str) -> str | None:
    """The name in a Host header (port dropped), or None when it is not a plain host."""
    try:
        parts = urlsplit(f"//{host_header}")
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password or parts.path or parts.query:
        return None
    return parts.hostname.lower().rstrip(".")


def host_allowed(host_header: str, allowed_hosts: list[str]) -> bool:
    """Streamlit's `server.allowedHosts` rule: exact names, `*.domain` or `*`; ports ignored."""
    name = host_name(host_header)
    if name is None:
        return False
    for pattern in (p.strip().lower().rstrip(".") for p in allowed_hosts):
        if pattern == "*" or name == pattern.strip("[]"):
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def refusal(address: str, allowed_hosts: list[str], host_header: str | None) -> str | None:
    """Why this request must not be served (one line for the page), or None to serve it.

    `address` and `allowed_hosts` are the server's `server.address` and `server.allowedHosts`;
    `host_header` is the request's Host (None where there is none: not a browser)."""
    allowed = list(allowed_hosts) or list(LOOPBACK_NAMES)
    exposed_on_purpose = any(not is_loopback(host) for host in allowed)
    if not is_loopback(address) and not exposed_on_purpose:
        where = address or _("all interfaces")
        return _(
            "This server listens on {where}, not on localhost only, and this app starts"
            " training processes on this machine: it serves nobody. Start it with"
            " `streamlit run dashboard/Home.py` (its settings in .streamlit/config.toml"
            " keep it local), or expose it on purpose: `{command}`."
        ).format(where=where, command=OPT_OUT)
    if host_header is not None and not host_allowed(host_header, allowed):
        return _(
            "This page was opened under a name this server does not answer to: open it"
            " at http://localhost instead."
        )
    return None


def one_torch_thread() -> None:
    """Run torch on one thread in this server process, once a page has imported it.

    Torch here computes small things for one student at a time (the explorer's check against
    torch, one digit's feature maps). With its default of one OpenMP thread per core, the idle
    thread spun about 8 ms of CPU after every such call: a third of a convolution-explorer
    rerun (benchmarks/classroom_load.py). A server's cores are shared between its students
    anyway. Training and the background analyses run in their own processes and set their own
    thread counts.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)
