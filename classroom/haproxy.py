"""The HAProxy configuration of a classroom: one frontend where the teacher says, one backend
of Streamlit workers on 127.0.0.1.

Why each part is there:
- `cookie cnn_worker insert indirect nocache`: a browser stays on the worker it first got
  (Streamlit keeps a session, its uploaded files and its WebSocket in one process);
  `balance leastconn` sends a new browser to the worker with the fewest open connections,
  which, since every open tab holds a WebSocket, is the one with the fewest students.
- `cnn_student`: a random id set on a browser's first response, which the app reads
  (`st.context.cookies`) to know whose runs are whose. A cookie, not the client address,
  because a classroom often sits behind one NAT address.
- the Host check: the same names as the workers' `server.allowedHosts`, so a request under
  another name (DNS rebinding) is refused at the door, before any worker sees it.
- `timeout tunnel 1h`: a Streamlit tab is one long WebSocket; the client/server timeouts
  apply only until it is upgraded.
- health checks, `redispatch` and `retries`: no request goes to a dead or starting worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from classroom.hosts import bind_address, url_host

WORKER_COOKIE = "cnn_worker"
STUDENT_COOKIE = "cnn_student"
STUDENT_COOKIE_MAX_AGE = 180 * 24 * 3600  # a school term and then some
HEALTH_PATH = "/_stcore/health"


def worker_name(index: int) -> str:
    """The server name of worker `index` (from 1) in haproxy.cfg and its cookie value."""
    return f"w{index}"


@dataclass(frozen=True)
class ProxySettings:
    host: str  # where HAProxy listens, as the teacher gave it
    port: int
    worker_ports: tuple[int, ...]
    allowed_hosts: tuple[str, ...]  # normalized names (classroom.hosts.allowed_hosts)
    maxconn: int = 4096


def host_acl_values(allowed_hosts: tuple[str, ...] | list[str]) -> list[str]:
    """The Host header values (port stripped, lower case) HAProxy lets through."""
    return list(dict.fromkeys(url_host(name) for name in allowed_hosts))


def haproxy_config(settings: ProxySettings) -> str:
    """The text of haproxy.cfg for `settings` (HAProxy 2.2 or newer; Debian 12 has 2.6)."""
    if not settings.worker_ports:
        raise ValueError("a classroom needs at least one worker")
    names = " ".join(host_acl_values(settings.allowed_hosts))
    servers = "\n".join(
        f"    server {worker_name(i)} 127.0.0.1:{port} cookie {worker_name(i)} check"
        for i, port in enumerate(settings.worker_ports, start=1)
    )
    return f"""\
# Written by `python -m classroom` (classroom/haproxy.py); regenerated at every start.
global
    maxconn {settings.maxconn}

defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 15s
    timeout http-keep-alive 15s
    timeout client-fin 30s
    # A Streamlit tab is one long WebSocket; this is how long it may stay idle.
    timeout tunnel 1h

frontend classroom
    bind {bind_address(settings.host, settings.port)}
    # Only the names the class browses to (DNS rebinding), as the workers' allowedHosts.
    acl known_host req.hdr(host),lower,regsub(:[0-9]+$,) -m str {names}
    http-request return status 403 content-type text/plain string \
"This classroom does not answer to this name." if !known_host
    # Which browser is which: a random id on the first response, kept for a term.
    http-request set-var(txn.new_student) uuid() if !{{ req.cook({STUDENT_COOKIE}) -m found }}
    http-response add-header Set-Cookie \
"{STUDENT_COOKIE}=%[var(txn.new_student)]; Path=/; Max-Age={STUDENT_COOKIE_MAX_AGE}; \
SameSite=Lax; HttpOnly" if {{ var(txn.new_student) -m found }}
    default_backend workers

backend workers
    balance leastconn
    # Sticky: a browser keeps its worker (its Streamlit sessions live in that process).
    cookie {WORKER_COOKIE} insert indirect nocache httponly
    # A worker that dies (the launcher restarts it, classroom/launch.py) is out of the
    # rotation at the first refused connection (observe layer4, on-error mark-down) or two
    # failed health checks 1 s apart, and back after two good ones; a request that finds it
    # dead is retried on another worker (redispatch), which then keeps that browser: the
    # student's id is its own cookie, and its runs are on disk, so nothing of theirs is lost.
    option httpchk
    http-check send meth GET uri {HEALTH_PATH} ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    option redispatch 1
    retries 3
    # A GET cut off by a worker's death (an empty response) is asked again of another; a
    # POST (an upload) never is: it may have done its work before the worker died.
    retry-on conn-failure empty-response
    http-request disable-l7-retry unless {{ method GET HEAD }}
    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2 \
observe layer4 error-limit 1 on-error mark-down
{servers}
"""
