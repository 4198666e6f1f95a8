"""Where the classroom listens and which names it answers to.

The workers listen on 127.0.0.1 only; HAProxy listens where the teacher says. Both refuse a
request whose Host is not a name the class browses to (DNS rebinding: a web page that
re-points its own name at this machine), so the names must be known: the address HAProxy
binds, plus `--allowed-host` names, plus this machine's loopback names. Binding all
interfaces (0.0.0.0, ::) names no host, so then `--allowed-host` is required.
"""

from __future__ import annotations

import ipaddress
import re

from dashboard.serve import LOOPBACK_NAMES

WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
# A DNS name (letters, digits, '-', '.'): anything else could not be a Host header and must
# not reach the generated haproxy.cfg.
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class HostError(ValueError):
    """A host or allowed name the classroom cannot use; its message is one line for the user."""


def normalize(name: str) -> str:
    """A host name or IP address as Streamlit compares it: lower case, no brackets, no
    trailing dot. Raises HostError for anything that is neither."""
    cleaned = name.strip().lower().rstrip(".")
    if cleaned.startswith("[") and cleaned.endswith("]"):
        cleaned = cleaned[1:-1]
    try:
        return str(ipaddress.ip_address(cleaned))
    except ValueError:
        pass
    if "*" in cleaned:
        raise HostError(
            f"{name!r}: wildcards would accept any name (the DNS-rebinding hole):"
            " name the host or address students browse to"
        )
    if not _DNS_NAME.match(cleaned):
        raise HostError(f"{name!r} is not a host name or an IP address")
    return cleaned


def is_wildcard(host: str) -> bool:
    """Whether `host` means every interface of this machine (no name to browse to)."""
    cleaned = host.strip().strip("[]")
    if cleaned in WILDCARD_ADDRESSES or cleaned == "*":
        return True
    try:
        return ipaddress.ip_address(cleaned).is_unspecified
    except ValueError:
        return False


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """The names the workers (`server.allowedHosts`) and HAProxy answer to, the ones students
    use first, then this machine's loopback names. Raises HostError when there is no name."""
    names = [] if is_wildcard(host) else [normalize(host)]
    names += [normalize(name) for name in extra]
    if not names:
        raise HostError(
            f"--host {host or '(empty)'} listens on every interface and names no host: add"
            " --allowed-host NAME for each name or address students browse to"
            " (e.g. --allowed-host my-box.lan --allowed-host 192.168.1.20)"
        )
    return list(dict.fromkeys(names + list(LOOPBACK_NAMES)))


def url_host(name: str) -> str:
    """`name` as the host part of a URL or Host header: an IPv6 address in brackets."""
    try:
        if ipaddress.ip_address(name.strip("[]")).version == 6:
            return f"[{name.strip('[]')}]"
    except ValueError:
        pass
    return name


def bind_address(host: str, port: int) -> str:
    """HAProxy's `bind` argument for `host` and `port`."""
    cleaned = host.strip().strip("[]")
    if cleaned in ("", "*"):
        cleaned = "0.0.0.0"
    return f"{url_host(cleaned)}:{port}"


def connect_address(host: str) -> str:
    """Where this machine reaches a proxy bound to `host` (loopback for all interfaces)."""
    cleaned = host.strip().strip("[]")
    if is_wildcard(cleaned):
        return "::1" if ":" in cleaned else "127.0.0.1"
    return cleaned
