"""Which 2D map of the 10,000 test digits' F6 features: time and peak memory of each method.

    python benchmarks/embedding_methods.py --run-dir runs/<id> [--methods pca,opentsne,sklearn,umap]

Each method runs in a fresh process (so its peak RSS is its own, and umap's numba compilation
is counted as a first visit pays it; imports are not timed), with 2 threads, on the F6
features of the run's best model. Baseline in the same script: the same process importing
the library without computing (its RSS), so memory reads as what the embedding added. umap-learn is
optional (not in requirements.txt): pass `--extra-path` with a folder it is installed in.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, re, sys, time
import numpy as np
method, path, compute = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
features = np.load(path)
if method == "pca":
    from core.analysis.embedding import pca_2d as fit
elif method == "opentsne":
    from openTSNE import TSNE
    fit = lambda f: TSNE(n_jobs=2, random_state=0, initialization="pca").fit(f.astype(float))
elif method == "sklearn":
    from sklearn.manifold import TSNE
    fit = lambda f: TSNE(n_jobs=2, random_state=0, init="pca").fit_transform(f)
elif method == "umap":
    import umap  # its numba kernels compile at the first fit: counted, as a first visit pays it
    fit = lambda f: umap.UMAP(n_jobs=2).fit_transform(f)
started = time.perf_counter()
if compute:
    fit(features)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into ru_maxrss.
peak = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read())[1]) / 1024
print(json.dumps({"seconds": seconds, "rss_mb": peak}))
"""


def run_child(method: str, features_path: Path, compute: bool, extra_path: str | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "2", "NUMBA_NUM_THREADS": "2"}
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + env.get("PYTHONPATH", "")
    output = subprocess.run(
        [sys.executable, "-c", CHILD, method, str(features_path), "1" if compute else "0"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--methods", default="pca,opentsne,sklearn,umap")
    parser.add_argument("--extra-path", default=None, help="a folder holding umap-learn")
    args = parser.parse_args()

    import numpy as np

    from core.analysis.embedding import f6_features
    from core.analysis.evaluate import run_model
    from core.model import mnist
    from core.runs.store import open_run

    model = run_model(open_run(args.run_dir))
    images, _ = mnist.load_test_set()
    features = f6_features(model, images)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores)")
    print(f"{'method':10} {'seconds':>8} {'peak RSS':>9} {'import only':>12}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "features.npy"
        np.save(path, features)
        for method in args.methods.split(","):
            try:
                idle = run_child(method, path, False, args.extra_path)
                busy = run_child(method, path, True, args.extra_path)
            except subprocess.CalledProcessError as error:
                print(f"{method:10} failed: {error.stderr.strip().splitlines()[-1]}")
                continue
            print(
                f"{method:10} {busy['seconds']:8.1f} {busy['rss_mb']:7.0f} MB"
                f" {idle['rss_mb']:9.0f} MB"
            )
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
