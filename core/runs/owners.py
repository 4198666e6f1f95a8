"""Classroom mode: who owns a run, who may manage it, and how many runs a student may queue.

One server, a whole class: every browser is a student (the classroom proxy gives each one a
`cnn_student` cookie; see classroom/), and the teacher is whoever knows the token the server
was started with. In classroom mode

- a run belongs to the student who started it (`owner.json` in its folder, written once);
- a student has at most `runs_per_student` runs queued or training at a time;
- only its owner and the teacher may stop, resume or delete a run; everyone may look at it;
- runs with no owner (started from the command line, or before classroom mode) are the
  teacher's.

Outside classroom mode (`make run`, one user) none of this applies: everyone is the teacher.
The settings come from the environment the classroom start gives every worker.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.files import atomic_write_json
from core.i18n import N_, _
from core.runs.store import Run, _read_json_file

CLASSROOM_ENV = "CNN_CLASSROOM"
TEACHER_TOKEN_ENV = "CNN_TEACHER_TOKEN"
RUNS_PER_STUDENT_ENV = "CNN_RUNS_PER_STUDENT"
DEFAULT_RUNS_PER_STUDENT = 1
OWNER_FILE = "owner.json"
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
OWNERS_LOCK = ".owners.lock"


class NotYourRunError(ValueError):
    """A student tried to stop, resume or delete another student's run."""


class RunLimitError(ValueError):
    """A student asked for more runs than the classroom allows at a time."""


# The refusal for each action (core/training/jobs.py's), marked only: translated when raised.
NOT_YOURS = {
    "stop": N_(
        "run {run} was started from another browser: only its owner or the teacher can stop it"
    ),
    "resume": N_(
        "run {run} was started from another browser: only its owner or the teacher can resume it"
    ),
    "delete": N_(
        "run {run} was started from another browser: only its owner or the teacher can delete it"
    ),
}


@dataclass(frozen=True)
class Classroom:
    """The server's classroom settings."""

    enabled: bool = False
    teacher_token: str | None = None
    runs_per_student: int = DEFAULT_RUNS_PER_STUDENT

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Classroom:
        environ = os.environ if environ is None else environ
        enabled = environ.get(CLASSROOM_ENV, "").strip().lower() in ("1", "true", "yes", "on")
        token = environ.get(TEACHER_TOKEN_ENV) or None
        try:
            limit = int(environ.get(RUNS_PER_STUDENT_ENV, DEFAULT_RUNS_PER_STUDENT))
        except ValueError:
            limit = DEFAULT_RUNS_PER_STUDENT
        return cls(enabled=enabled, teacher_token=token, runs_per_student=max(1, limit))

    def is_teacher_token(self, token: str | None) -> bool:
        """Constant-time comparison; no token configured means nobody is the teacher."""
        if not self.teacher_token or not token:
            return False
        return hmac.compare_digest(token.encode(), self.teacher_token.encode())

    def viewer(self, owner: str | None, token: str | None = None) -> Viewer:
        """Who is looking: a student (by owner id) or, with the right token, the teacher."""
        if not self.enabled:
            return Viewer(owner=owner, teacher=True, classroom=False)
        return Viewer(owner=owner, teacher=self.is_teacher_token(token), classroom=True)


@dataclass(frozen=True)
class Viewer:
    """One browser's rights. Outside classroom mode everyone is the teacher."""

    owner: str | None
    teacher: bool = True
    classroom: bool = False

    def may_manage(self, run: Run) -> bool:
        return self.may_manage_owned_by(owner_of(run))

    def may_manage_owned_by(self, owner: str | None) -> bool:
        """The rule itself, for a run whose owner is already known (None: no owner)."""
        if not self.classroom or self.teacher:
            return True
        return self.owner is not None and owner == self.owner

    def check_manage(self, run: Run, action: str) -> None:
        if not self.may_manage(run):
            if action in NOT_YOURS:
                raise NotYourRunError(_(NOT_YOURS[action]).format(run=run.id))
            raise NotYourRunError(
                _(
                    "run {run} was started from another browser: only its owner or the teacher"
                    " can {action} it"
                ).format(run=run.id, action=action)
            )


def valid_owner(owner: str | None) -> str | None:
    """An owner id as stored: a short token of safe characters, or None."""
    if owner is None:
        return None
    if not isinstance(owner, str) or not OWNER_PATTERN.match(owner):
        raise ValueError("invalid owner id")
    return owner


def write_owner(run: Run, owner: str | None) -> None:
    if owner is not None:
        atomic_write_json(run.path / OWNER_FILE, {"owner": valid_owner(owner)})


def owner_of(run: Run) -> str | None:
    """The student who started the run; None for a run without one (or an unreadable file:
    then nobody but the teacher manages it)."""
    try:
        record = _read_json_file(run.path / OWNER_FILE)
    except (OSError, ValueError):
        return None
    owner = record.get("owner") if isinstance(record, dict) else None
    return owner if isinstance(owner, str) and OWNER_PATTERN.match(owner) else None


def owners_lock_path(root: Path) -> Path:
    return Path(root) / OWNERS_LOCK
