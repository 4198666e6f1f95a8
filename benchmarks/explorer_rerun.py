"""Time of one convolution-explorer rerun after a control change, measured with AppTest.

    python benchmarks/explorer_rerun.py [--repeats 7]

Baseline: the page's default settings (5x5 input, 3x3 kernel). Then the largest sizes the
controls allow (28x64 input, 4 in and 4 out channels, 7x7 kernel, padding 6). Each rerun
is triggered by a control change (alternating the seed), timed end to end by AppTest (script
run plus building every element); medians. Target (issue 3): at most 150 ms at the largest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = Path(__file__).resolve().parent.parent / "pages" / "convolution.py"
LARGEST = dict(h=28, w=64, cin=4, cout=4, kh=7, kw=7, ph=6, pw=6)


def rerun_ms(settings: dict[str, int], repeats: int) -> float:
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    for key, value in settings.items():
        widget = app.slider(key=key) if key in ("kh", "kw") else app.number_input(key=key)
        widget.set_value(value).run()
    if app.exception or app.error:
        sys.exit(f"the page failed at {settings}: {app.exception or app.error[0].value}")
    times = []
    for repeat in range(repeats):
        app.number_input(key="seed").set_value(repeat % 2 + 1)
        started = time.perf_counter()
        app.run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    base = rerun_ms({}, args.repeats)
    large = rerun_ms(LARGEST, args.repeats)
    print(f"default settings (5x5, 3x3 kernel):  {base:6.0f} ms per rerun")
    print(
        f"largest settings {LARGEST}: {large:6.0f} ms per rerun"
        f"  ({large / base:.1f}x the default; target <= 150 ms)"
    )


if __name__ == "__main__":
    main()
