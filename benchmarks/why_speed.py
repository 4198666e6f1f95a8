"""Speed of the "Why it errs" computations against the issue's targets.

    python benchmarks/why_speed.py --run-dir runs/<id> [--repeats 5]

- Occlusion map of one digit at patch 4, stride 1 (625 occluded copies in one batch, Captum),
  median of `repeats` digits; baseline in the same process: one plain forward pass of those
  625 copies, so the ratio says what Captum's bookkeeping adds. Target: under 0.3 s.
- The other maps and the faithfulness curves of one digit (what the page computes per rerun).
- The FGSM sweep over the 10,000 test digits and 7 epsilons (batches of 2,048), 2 threads.
  Target: under 20 s. Baselines: the same sweep's forward passes alone (epsilon 0), and
  Captum's FGSM called once per epsilon (a backward pass per epsilon), as first written.
- The shift sweep (10,000 digits x 26 shifts) for completeness.

Also prints the FGSM sweep's CPU time: on a busy machine, CPU seconds / 2 estimates its wall
time on 2 idle cores.

Prints the 1-minute load average before and after: timings on a loaded 2-core machine are
noisy, so compare within one run of this script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from core.analysis.attribution import faithfulness, grad_cam, gradient_x_input, occlusion, saliency
from core.analysis.evaluate import run_model
from core.analysis.robustness import EPSILONS, fgsm_sweep, shift_sweep
from core.model import mnist
from core.runs.store import open_run


def seconds(function, *args, **kwargs) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def captum_per_epsilon(model, images, labels) -> None:
    """The sweep as first written: Captum's FGSM.perturb for each epsilon and batch."""
    import torch.nn.functional as F
    from captum.robust import FGSM

    attack = FGSM(
        model,
        loss_func=lambda out, y: F.cross_entropy(out, y, reduction="none"),
        lower_bound=0.0,
        upper_bound=1.0,
    )
    for epsilon in EPSILONS:
        for start in range(0, len(labels), 2048):
            x = images[start : start + 2048].clone().requires_grad_()
            y = labels[start : start + 2048]
            moved = attack.perturb(x, epsilon=epsilon, target=y) if epsilon else x
            with torch.no_grad():
                model(moved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-sweeps", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores)")
    model = run_model(open_run(args.run_dir))
    images, labels = mnist.load_test_set()

    occlusion_times, forward_times, rest_times = [], [], []
    occlusion(model, images[0], int(labels[0]))  # warm-up
    for index in range(args.repeats):
        image, target = images[index], int(labels[index])
        occlusion_times.append(seconds(occlusion, model, image, target))
        copies = image.expand(625, 1, 28, 28).contiguous()
        with torch.no_grad():
            forward_times.append(seconds(model, copies))

        def the_rest(image=image, target=target) -> None:
            maps = {
                "saliency": saliency(model, image, target),
                "gradient x input": gradient_x_input(model, image, target),
                "grad-cam": grad_cam(model, image, target).map,
                "occlusion": occlusion(model, image, target),
            }
            faithfulness(model, image, target, maps)

        rest_times.append(seconds(the_rest))
    occ, fwd = statistics.median(occlusion_times), statistics.median(forward_times)
    print(
        f"occlusion, patch 4 stride 1: {occ * 1000:.0f} ms (target 300 ms);"
        f" 625 forwards alone {fwd * 1000:.0f} ms: Captum adds {occ / fwd:.1f}x"
    )
    print(
        f"all four maps + faithfulness of one digit: {statistics.median(rest_times) * 1000:.0f} ms"
    )
    if args.skip_sweeps:
        return
    plain = seconds(fgsm_sweep, model, images, labels, epsilons=(0.0,) * len(EPSILONS))
    cpu = time.process_time()
    sweep = seconds(fgsm_sweep, model, images, labels, epsilons=EPSILONS)
    cpu = time.process_time() - cpu
    per_epsilon = seconds(captum_per_epsilon, model, images, labels)
    print(
        f"FGSM sweep, 10,000 digits x {len(EPSILONS)} epsilons: {sweep:.1f} s (target 20 s);"
        f" the same forward passes without the attack {plain:.1f} s ({sweep / plain:.1f}x);"
        f" Captum's FGSM once per epsilon {per_epsilon:.1f} s ({per_epsilon / plain:.1f}x)"
    )
    # On a loaded machine wall time overstates: CPU seconds over 2 threads is what the sweep
    # would take with both cores to itself (a lower bound: threads never scale perfectly).
    print(f"FGSM sweep CPU time: {cpu:.1f} s, i.e. {cpu / 2:.1f} s on 2 idle cores at best")
    shifted = seconds(shift_sweep, model, images, labels)
    print(f"shift sweep, 10,000 digits x 26 shifts: {shifted:.1f} s")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
