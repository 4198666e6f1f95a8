"""A growing delay after wrong guesses: the teacher's sign-in in classroom mode.

The teacher token guards every run of the class, so it must not be guessable at full speed.
Each browser gets FREE_TRIES wrong tries at once; after that every try waits STEP seconds
more than the last (0.1, 0.2, 0.3 ... at most CAP), so 20 wrong tries in a row take 15 s and
100 take over 7 minutes. The same counts per worker process, for all browsers together (a
guesser that drops its cookies is a new browser every time), from WORKER_FREE_TRIES. A right
token clears its browser's count; counts are forgotten FORGET_AFTER seconds after the last
wrong try. Kept in memory: a restarted worker starts again from zero, which a guesser cannot
cause from a browser.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

FREE_TRIES = 3
WORKER_FREE_TRIES = 10
STEP = 0.1  # seconds added per wrong try past the free ones
CAP = 30.0
FORGET_AFTER = 600.0
WORKER = "*"  # the key that counts every browser's wrong tries


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0


class FailureThrottle:
    """Wrong tries per key (a browser) and over all keys (this process); thread-safe."""

    def __init__(
        self,
        free: int = FREE_TRIES,
        worker_free: int = WORKER_FREE_TRIES,
        step: float = STEP,
        cap: float = CAP,
        forget_after: float = FORGET_AFTER,
    ) -> None:
        self.free, self.worker_free = free, worker_free
        self.step, self.cap, self.forget_after = step, cap, forget_after
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    def _count(self, key: str, now: float) -> _Count:
        count = self._counts.setdefault(key, _Count())
        if count.failures and now - count.last > self.forget_after:
            count.failures = 0
        return count

    def _wait(self, failures: int, free: int) -> float:
        return min(self.cap, self.step * (failures - free + 1)) if failures >= free else 0.0

    def delay(self, key: str, now: float | None = None) -> float:
        """Seconds the next try from `key` waits before it is checked."""
        now = time.monotonic() if now is None else now
        with self._lock:
            mine = self._wait(self._count(key, now).failures, self.free)
            everyone = self._wait(self._count(WORKER, now).failures, self.worker_free)
        return max(mine, everyone)

    def failed(self, key: str, now: float | None = None) -> int:
        """Count a wrong try from `key`; returns that browser's wrong tries in a row."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for name in (key, WORKER):
                count = self._count(name, now)
                count.failures += 1
                count.last = now
            return self._counts[key].failures

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def reset(self) -> None:
        """Forget every count (tests that share one process)."""
        with self._lock:
            self._counts.clear()


TEACHER_SIGN_IN = FailureThrottle()  # one per worker process: the dashboard's sign-in box
