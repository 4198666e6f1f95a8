"""Compare runs: what differs, seed groups with their spread, and the page through AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.compare import differing_settings, readable_facts, run_facts, seed_groups
from core.model.lenet import LeNetArchitecture, lenet_layer_table
from core.runs.store import list_runs, open_run
from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import COMPARE

pytestmark = pytest.mark.mnist
QUICK = dict(epochs=1, train_subset=2_048)


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from core.model import mnist

    splits = mnist.load_mnist(real_mnist_dir)
    root = tmp_path_factory.mktemp("compare-runs")
    for seed in (0, 1, 2):
        train(TrainConfig(**QUICK, seed=seed), root / f"lecture-s{seed}", splits=splits)
    for seed in (0, 1):
        config = TrainConfig(**QUICK, seed=seed, activation="tanh", pooling="avg")
        train(config, root / f"paper-s{seed}", splits=splits)
    train(TrainConfig(**QUICK, c1_channels=12), root / "wide-c1", splits=splits)
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("{}")
    (root / "broken" / "status.json").write_text('{"state": "completed"}')
    return root


def test_differences_costs_and_seed_groups(runs_root: Path) -> None:
    facts, damaged = readable_facts(list_runs(runs_root))
    assert set(damaged) == {"broken"} and "config.json" in damaged["broken"]
    by_id = {f.id: f for f in facts}
    assert differing_settings([by_id["lecture-s0"].config, by_id["lecture-s1"].config]) == ["seed"]
    assert differing_settings([by_id["lecture-s0"].config, by_id["paper-s1"].config]) == [
        "seed",
        "activation",
        "pooling",
    ]
    wide = run_facts(open_run(runs_root / "wide-c1"))
    table = lenet_layer_table(LeNetArchitecture(c1_channels=12))
    assert wide.parameters == sum(r.parameters for r in table) > by_id["lecture-s0"].parameters
    assert wide.macs == sum(r.macs for r in table)
    assert wide.seconds_per_epoch > 0 and wide.test_risk is not None
    groups = {g.run_ids: g for g in seed_groups(facts)}
    lecture = next(g for ids, g in groups.items() if "lecture-s0" in ids)
    assert sorted(lecture.run_ids) == ["lecture-s0", "lecture-s1", "lecture-s2"]
    assert sorted(lecture.seeds) == [0, 1, 2] and len(lecture.test_risks) == 3
    low, high = lecture.spread
    assert low <= lecture.median <= high and lecture.stdev is not None
    paper = next(g for ids, g in groups.items() if "paper-s0" in ids)
    assert paper.size == 2 and paper.config.activation == "tanh"
    assert sum(g.size for g in groups.values()) == len(facts)


def test_compare_page(monkeypatch, runs_root: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(COMPARE.file), default_timeout=120)
    app.query_params["run"] = ["lecture-s0", "lecture-s1", "paper-s0", "[x](https://evil.example)"]
    app.run()
    assert not app.exception, app.exception
    assert "](https" not in " ".join(w.value for w in app.warning)
    side_by_side = app.table[0].value
    assert list(side_by_side["run"]) == ["lecture-s0", "lecture-s1", "paper-s0"]
    # Only the settings that differ are columns, then the costs and results.
    assert {"seed", "activation", "pooling"} <= set(side_by_side.columns)
    assert "lr" not in side_by_side.columns and "c1_kernel" not in side_by_side.columns
    assert list(side_by_side["parameters"]) == ["61,706"] * 3
    seeds = next(t.value for t in app.table if "runs" in t.value.columns)
    assert sorted(seeds["runs"].tolist()) == ["1", "2"]
    # The scatter's text equivalent: the lowest and highest test risk, and a row per point.
    risks = next(t.value for t in app.table if "setting" in t.value.columns)
    assert sorted(risks["run"]) == ["lecture-s0", "lecture-s1", "paper-s0"]
    lowest = min(risks["test risk"], key=float)
    summary = next(c.value for c in app.caption if c.value.startswith("3 runs. The lowest"))
    assert f"The lowest test risk, {lowest}, is at 61,706 parameters" in summary
    for axis in ("seconds_per_epoch", "macs"):
        app.radio(key="x_axis").set_value(axis).run()
        assert not app.exception
    assert (
        "MACs per image" in next(t.value for t in app.table if "setting" in t.value.columns).columns
    )
