"""Serve a class from one machine: N Streamlit workers behind HAProxy, sticky per browser.

    python -m classroom --workers 2 --host my-box.lan --port 8080
    python -m classroom --workers 2 --host 0.0.0.0 --allowed-host my-box.lan --port 8080
    make classroom WORKERS=2 HOST=my-box.lan PORT=8080
    python -m classroom --workers 2 --host my-box.lan --port 8080 --ray auto   # on a Ray cluster

Prints one line `Classroom ready at http://HOST:PORT (N workers)` once every worker answers
and HAProxy forwards to each; Ctrl-C (or SIGTERM) stops the proxy and every worker. A mistake
in the arguments or a missing HAProxy is one line on stderr and exit status 2. A worker that
dies is started again on its port (a line says so; HAProxy sends its students to the others
meanwhile); the proxy dying, or a worker dying more than --max-restarts times in 10 minutes,
stops everything, one line on stderr, exit status 1. README, "Classroom".
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys

from classroom.hosts import HostError, allowed_hosts
from classroom.launch import INSTALL_HINT, ClassroomError, ClassroomSettings, find_haproxy, run
from core.training.ray_jobs import ray_address

TOKEN_ENV = "CNN_TEACHER_TOKEN"
MIN_TOKEN_LENGTH = 12


def _count(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classroom",
        description="Serve the CNN Explainer to a class: N Streamlit workers behind HAProxy.",
    )
    parser.add_argument(
        "--workers", type=_count(1, 64), default=2, help="Streamlit processes (default 2)"
    )
    parser.add_argument(
        "--host",
        required=True,
        help="where HAProxy listens: the name or address students browse to (my-box.lan,"
        " 192.168.1.20), localhost for this machine only, or 0.0.0.0 / :: for every"
        " interface (then --allowed-host is required)",
    )
    parser.add_argument("--port", type=_count(1, 65535), required=True, help="HAProxy's port")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name or address students browse to (repeatable); the server refuses"
        " every other name (DNS rebinding)",
    )
    parser.add_argument(
        "--teacher-token",
        help=f"the teacher's token for managing every run, {MIN_TOKEN_LENGTH} characters or"
        f" more (default: ${TOKEN_ENV}, else a random one, printed once)",
    )
    parser.add_argument(
        "--runs-per-student",
        type=_count(1, 1000),
        default=1,
        metavar="K",
        help="training runs a student may have queued or running at once (default 1)",
    )
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="train the class's runs on the Ray cluster at ADDRESS (auto: the one this machine"
        " heads, after `ray start --head`; default: $CNN_RAY_ADDRESS, else this machine's"
        " queue)",
    )
    parser.add_argument(
        "--max-restarts",
        type=_count(0, 100),
        default=5,
        metavar="N",
        help="how often a worker that dies is started again within 10 minutes before the"
        " class stops (default 5; 0: the first death stops the class)",
    )
    parser.add_argument(
        "--start-timeout",
        type=_count(1, 3600),
        default=300,
        metavar="SECONDS",
        help="how long to wait for the workers and the proxy (default 300)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def fail(message: str, code: int) -> int:
        print(f"classroom: {message}", file=sys.stderr, flush=True)
        return code

    try:
        names = allowed_hosts(args.host, args.allowed_host)
    except HostError as error:
        return fail(str(error), 2)
    haproxy = find_haproxy()
    if haproxy is None:
        return fail(INSTALL_HINT, 2)

    def say(line: str) -> None:
        print(line, flush=True)

    token = args.teacher_token or os.environ.get(TOKEN_ENV) or ""
    if token and len(token) < MIN_TOKEN_LENGTH:
        given = "--teacher-token" if args.teacher_token else f"${TOKEN_ENV}"
        return fail(
            f"{given} is {len(token)} characters; a teacher token guards every run of the class"
            f" and needs at least {MIN_TOKEN_LENGTH} (leave it out for a random one)",
            2,
        )
    if not token:
        token = secrets.token_urlsafe(12)
        say(f"Teacher token: {token} (type it under 'Teacher' in the sidebar to manage every run)")
    settings = ClassroomSettings(
        workers=args.workers,
        host=args.host,
        port=args.port,
        allowed_hosts=tuple(names),
        teacher_token=token,
        runs_per_student=args.runs_per_student,
        start_timeout=float(args.start_timeout),
        max_restarts=args.max_restarts,
        ray_address=ray_address(args.ray),
    )
    if settings.ray_address:
        say(f"Runs train on the Ray cluster at {settings.ray_address}")
    try:
        code = run(settings, haproxy, say)
    except ClassroomError as error:
        return fail(f"{error}; stopped every worker and the proxy", 1)
    say("Classroom stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
