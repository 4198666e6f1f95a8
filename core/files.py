"""Files that are never seen half-written: atomic writes, and JSON that stores NaN as null.

Used by the MNIST fetcher, the run store and the evaluation cache alike, so it lives with
none of them.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

PART_SUFFIX = ".part"
# The write errors that mean "this disk will not take it" rather than a bug: no space, a
# quota, a file-size limit (`ulimit -f`: Python ignores SIGXFSZ, so the write gets EFBIG), a
# read-only filesystem, or a folder this user may not write into.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class StorageError(OSError):
    """A write the disk refused (full, over a quota or size limit, read-only), said in one
    line: what could not be written, where, why, and what to do. `errno` is the original's."""

    def __init__(self, original: OSError, message: str) -> None:
        super().__init__(original.errno, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def is_storage_error(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in STORAGE_ERRNOS


def format_bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    return f"{count:,.1f} GB"  # unreachable


def free_bytes(path: Path) -> int | None:
    """What this user can still write under `path` (its nearest existing folder), or None."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def storage_problem(error: OSError) -> str:
    """The disk's refusal in two or three words; "disk full" for all that more space cures."""
    if error.errno == errno.ENOSPC:
        return "disk full"
    if error.errno == errno.EDQUOT:
        return "disk full (quota used up)"
    if error.errno == errno.EFBIG:
        return "disk full (file-size limit, ulimit -f)"
    if error.errno == errno.EROFS:
        return "read-only filesystem"
    return "folder not writable"


def describe_storage_error(error: OSError, where: Path) -> str:
    """ "disk full: could not write status.json in runs/x (No space left on device); 12.0 KB
    free there": what, where and why, in one line, without advice (callers add theirs)."""
    where = Path(where)
    target = Path(error.filename) if error.filename else None
    if target is not None and target.is_relative_to(where):
        name = str(target.relative_to(where)) or target.name
    else:
        name = target.name if target is not None else "a file"
    text = f"{storage_problem(error)}: could not write {name} in {where}"
    text += f" ({error.strerror or error})"
    if error.errno == errno.EFBIG:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            text += f"; this process may write files of at most {format_bytes(limit)}"
    elif error.errno in DISK_FULL_ERRNOS:
        free = free_bytes(where)
        text += f"; {format_bytes(free)} free there" if free is not None else ""
    return text


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path`` and rename, so no half file is ever visible.

    The temp file is named ``.<name>.<random>.part``; a process killed mid-write leaves one
    behind, which `remove_partial_files` cleans up."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    except OSError as error:
        error.filename = str(path)  # the file that could not be written, not its temp name
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            error.filename = str(path)
        raise


def write_in_place(path: Path, data: bytes) -> None:
    """Overwrite a small existing file without a temp file: the fallback for a status line
    when the disk is full. It reuses the file's own block, so it needs no new space; a reader
    at that very moment may see it half-written (readers of such files retry,
    core/runs/store.py)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_partial_files(directory: Path) -> list[str]:
    """Delete the temp files of writes that were killed halfway; returns their names.

    Only safe while no other process writes into `directory` (a run holds its lock)."""
    removed = []
    for path in Path(directory).glob(f".*{PART_SUFFIX}"):
        try:
            path.unlink()
            removed.append(path.name)
        except FileNotFoundError:
            pass
    return removed


def json_safe(value: Any) -> Any:
    """NaN and inf are not JSON: store them as null (callers keep the word beside)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(json_safe(value), indent=2).encode())
