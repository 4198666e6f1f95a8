"""The teacher sign-in's throttle (core/throttle.py), on a clock the test sets."""

from __future__ import annotations

import pytest

from core.throttle import FailureThrottle


def test_a_browser_gets_free_tries_then_a_growing_delay():
    throttle = FailureThrottle(free=3, worker_free=1000, step=0.1, cap=30.0)
    waits = []
    for _ in range(20):
        waits.append(throttle.delay("a", now=0.0))
        throttle.failed("a", now=0.0)
    assert waits[:4] == [0.0, 0.0, 0.0, pytest.approx(0.1)]
    assert all(later > earlier for earlier, later in zip(waits[3:], waits[4:], strict=False))
    assert sum(waits) >= 10.0  # the bar: 20 wrong tries take at least 10 s
    assert sum(waits) == pytest.approx(0.1 * sum(range(1, 18)))
    assert throttle.delay("b", now=0.0) == 0.0  # another browser is not slowed


def test_the_worker_counts_every_browser_together():
    throttle = FailureThrottle(free=3, worker_free=10, step=0.1)
    for index in range(10):  # a guesser that drops its cookies: a new browser every time
        throttle.failed(f"browser-{index}", now=0.0)
    assert throttle.delay("a-new-browser", now=0.0) == pytest.approx(0.1)


def test_the_delay_is_capped_forgotten_later_and_cleared_by_the_right_token():
    throttle = FailureThrottle(free=3, worker_free=1000, step=0.1, cap=2.0, forget_after=600)
    for _ in range(100):
        throttle.failed("a", now=0.0)
    assert throttle.delay("a", now=1.0) == 2.0
    assert throttle.delay("a", now=601.0) == 0.0
    for _ in range(5):
        throttle.failed("b", now=0.0)
    throttle.succeeded("b")
    assert throttle.delay("b", now=0.0) == 0.0
