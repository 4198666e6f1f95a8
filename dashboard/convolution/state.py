"""The convolution explorer's configuration: every control's key, range and default, read from
the URL once per visit and written back on every run, so a link reproduces what the page shows.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from core.convolution.layer import KERNEL_PRESETS_1D, KERNEL_PRESETS_2D, OPERATIONS
from core.i18n import N_

SOURCES = (N_("random integers"), N_("MNIST digit"), N_("edit by hand"))
SPEEDS = {N_("slow"): 1200, N_("normal"): 600, N_("fast"): 200}
# key: (default, low, high): integers that live in the URL too.
INTEGERS = {
    "h": (5, 1, 28),
    "w": (5, 1, 64),
    "cin": (1, 1, 8),
    "cout": (1, 1, 8),
    "groups": (1, 1, 8),
    "kh": (3, 1, 7),
    "kw": (3, 1, 7),
    "ph": (0, 0, 6),
    "pw": (0, 0, 6),
    "sh": (1, 1, 4),
    "sw": (1, 1, 4),
    "dh": (1, 1, 4),
    "dw": (1, 1, 4),
    "oph": (0, 0, 3),
    "opw": (0, 0, 3),
    "seed": (0, 0, 9999),
    "digit": (0, 0, 9999),
}
CHOICES = {
    "mode": ("2D", ("2D", "1D")),
    "op": ("convolution", OPERATIONS),
    "src": ("random integers", SOURCES),
    "kernel": ("random integers", KERNEL_PRESETS_2D + KERNEL_PRESETS_1D[2:]),
    "speed": ("normal", tuple(SPEEDS)),
}
FLAGS = {"bias": False, "flip": False, "relu": False}


def load_from_url(state: MutableMapping, query: MutableMapping) -> list[str]:
    """Put the link's settings into `state` (defaults for what it lacks); return the parts of
    the link that were ignored, as short raw snippets (echo them through text.plain)."""
    ignored = []
    for key, (default, low, high) in INTEGERS.items():
        raw = query.get(key)
        try:
            value = int(raw) if raw is not None else default
            if not low <= value <= high:
                raise ValueError
        except ValueError:
            ignored.append(f"{key}={raw[:12]!r} (allowed {low}-{high})")
            value = default
        state[key] = value
    for key, (default, allowed) in CHOICES.items():
        raw = query.get(key)
        if raw is not None and raw not in allowed:
            ignored.append(f"{key}={raw[:20]!r}")
        state[key] = raw if raw in allowed else default
    for key, default in FLAGS.items():
        raw = query.get(key)
        if raw is not None and raw not in ("0", "1"):
            ignored.append(f"{key}={raw[:12]!r} (allowed 0 or 1)")
        state[key] = raw == "1" if raw in ("0", "1") else default
    return ignored


def keep_values(state: MutableMapping) -> None:
    """Streamlit forgets the value of a widget that a run does not draw (output channels while
    pooling, say); writing each value back at the top of every run keeps the configuration."""
    for key, (default, *_rest) in {**INTEGERS, **CHOICES}.items():
        state[key] = state.get(key, default)
    for key, default in FLAGS.items():
        state[key] = state.get(key, default)


def to_url(state: MutableMapping) -> dict[str, str]:
    return {
        **{k: str(state[k]) for k in INTEGERS},
        **{k: state[k] for k in CHOICES},
        **{k: "1" if state[k] else "0" for k in FLAGS},
    }
