"""The second run of the numeric tests really uses other kernels (tests/isa.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.isa import CAPS, capped_setting, native_capability

PROBE = """
import hashlib, torch, torch.nn.functional as F
print(torch.backends.cpu.get_cpu_capability())
torch.manual_seed(0)
x, w = torch.rand(64, 6, 14, 14), torch.rand(6, 6, 5, 5)
for _ in range(3):
    x = torch.tanh(F.conv2d(F.pad(x, (2, 2, 2, 2)), w) / 50)
print(hashlib.md5(x.numpy().tobytes()).hexdigest())
"""


def probe(caps: dict[str, str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in CAPS["SSE41"]}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**env, **caps}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_the_cap_is_another_instruction_set_than_this_cpus() -> None:
    native = native_capability()
    assert native in ("DEFAULT", "AVX2", "AVX512")
    name = capped_setting(native)
    capability, _ = probe(CAPS[name])
    assert capability == {"SSE41": "DEFAULT", "AVX2": "AVX2"}[name]
    assert capability != native


def test_a_conv_stack_is_deterministic_under_each_setting() -> None:
    """The same floats twice under one setting: what 'compare on the same machine' relies on."""
    for caps in ({}, *CAPS.values()):
        assert probe(caps) == probe(caps)
