"""Cache keys for what the explorer draws: small numpy arrays and the settings around them.

`functools.lru_cache` needs hashable arguments; an array becomes its shape, dtype and bytes
(`Frozen`), and `Frozen.array()` gives a copy back. The explorer's arrays are at most a few
thousand numbers, so hashing and copying them costs microseconds.
"""

from __future__ import annotations

import dataclasses

import numpy as np


class Frozen:
    """A small numpy array as a hashable value, and back."""

    __slots__ = ("shape", "dtype", "data", "_hash")

    def __init__(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values)
        self.shape, self.dtype, self.data = values.shape, values.dtype.str, values.tobytes()
        self._hash = hash((self.shape, self.dtype, self.data))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frozen) and (self.shape, self.dtype, self.data) == (
            other.shape,
            other.dtype,
            other.data,
        )

    def array(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=self.dtype).reshape(self.shape).copy()


def frozen(values: np.ndarray | None) -> Frozen | None:
    return None if values is None else Frozen(np.asarray(values))


def dataclass_key(instance: object) -> tuple:
    """A dataclass's fields as a hashable tuple, its numpy arrays frozen."""
    return tuple(
        (f.name, Frozen(value) if isinstance(value, np.ndarray) else value)
        for f in dataclasses.fields(instance)
        for value in (getattr(instance, f.name),)
    )
