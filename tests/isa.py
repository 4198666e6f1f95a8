"""Run the numeric tests (`-m numerics`) again under a capped instruction set.

    python -m tests.isa                 # pytest -m numerics under the cap, from `make test`
    python -m tests.isa -- -k parallel  # extra pytest arguments after --

oneDNN and ATen pick their kernels by the CPU's instruction set, so another CPU rounds the
same training run differently. Capping what torch may use on this machine gives another CPU's
rounding without another CPU: `ATEN_CPU_CAPABILITY` (ATen's vectorised kernels: default, avx2,
avx512) and `ONEDNN_MAX_CPU_ISA` (oneDNN's documented knob: SSE41, AVX2, AVX512_CORE, ...).
The cap chosen is one the machine does not run by itself, so that a tolerance measured on
this CPU alone fails here, before it lands, instead of on a user's machine: SSE4.1 with ATen's
scalar kernels, or AVX2 on a machine that has nothing above SSE4.1 anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys

CAPS = {
    "SSE41": {"ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"},
    "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
}


def native_capability() -> str:
    """What ATen runs on this machine uncapped: DEFAULT, AVX2 or AVX512 (a child process, so
    that this one's environment cannot cap it)."""
    env = {k: v for k, v in os.environ.items() if k not in CAPS["SSE41"]}
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def capped_setting(native: str) -> str:
    return "AVX2" if native == "DEFAULT" else "SSE41"


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1 :] if "--" in argv else argv
    native = native_capability()
    name = capped_setting(native)
    env = {**os.environ, **CAPS[name]}
    caps = " ".join(f"{k}={v}" for k, v in CAPS[name].items())
    print(f"numeric tests again under {caps} (this CPU runs {native} uncapped)", flush=True)
    command = [sys.executable, "-m", "pytest", "-m", "numerics", "-p", "no:cacheprovider", *extra]
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
