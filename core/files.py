"""Files that are never seen half-written: atomic writes, and JSON that stores NaN as null.

Used by the MNIST fetcher, the run store and the evaluation cache alike, so it lives with
none of them.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

PART_SUFFIX = ".part"


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path`` and rename, so no half file is ever visible.

    The temp file is named ``.<name>.<random>.part``; a process killed mid-write leaves one
    behind, which `remove_partial_files` cleans up."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
