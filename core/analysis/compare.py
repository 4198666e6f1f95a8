"""Runs side by side: what differs between them, what each costs, how well each did, and which
runs are the same experiment with another seed (so a difference can be told from noise).

    facts = [run_facts(run) for run in runs]
    differing_settings([f.config for f in facts])   # ["activation", "pooling"]
    seed_groups(facts)                              # runs equal but for the seed, with spread
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, fields

from core.model.lenet import lenet_layer_table
from core.runs.store import Run, RunDamagedError
from core.training.config import TrainConfig
from core.training.saved import load_config

# Settings that do not change what is learned: never a "difference" between two runs.
NOT_SETTINGS = ("device", "data_dir", "group", "log_every", "workers")


@dataclass(frozen=True)
class RunFacts:
    id: str
    state: str
    config: TrainConfig
    parameters: int
    macs: int
    epochs_done: int
    seconds_per_epoch: float | None
    best_epoch: int | None
    best_val_error: float | None
    test_risk: float | None


def run_facts(run: Run) -> RunFacts:
    """What the comparison shows of one run; RunDamagedError for a folder that cannot be read."""
    config = load_config(run)
    status = run.current_status()
    table = lenet_layer_table(config.architecture)
    epochs = [r for r in run.read_metrics() if r.get("kind") == "epoch"]
    seconds = [r["seconds"] for r in epochs if isinstance(r.get("seconds"), int | float)]
    test = run.read_test()
    last = epochs[-1] if epochs else None
    return RunFacts(
        id=run.id,
        state=status["state"],
        config=config,
        parameters=sum(row.parameters for row in table),
        macs=sum(row.macs for row in table),
        epochs_done=len(epochs),
        seconds_per_epoch=statistics.fmean(seconds) if seconds else None,
        best_epoch=last.get("best_epoch") if last else None,
        best_val_error=last.get("best_val_error") if last else None,
        test_risk=test.get("test_risk") if test else None,
    )


def readable_facts(runs: list[Run]) -> tuple[list[RunFacts], dict[str, str]]:
    """Facts of the runs that can be read, and the reason for each that cannot."""
    facts, damaged = [], {}
    for run in runs:
        try:
            facts.append(run_facts(run))
        except (RunDamagedError, FileNotFoundError) as error:
            damaged[run.id] = str(error)
    return facts, damaged


def settings(config: TrainConfig) -> dict:
    return {k: v for k, v in asdict(config).items() if k not in NOT_SETTINGS}


def differing_settings(configs: list[TrainConfig]) -> list[str]:
    """The settings (in TrainConfig's order) that are not the same in all `configs`."""
    if len(configs) < 2:
        return []
    names = [f.name for f in fields(TrainConfig) if f.name not in NOT_SETTINGS]
    return [name for name in names if len({repr(getattr(c, name)) for c in configs}) > 1]


@dataclass(frozen=True)
class SeedGroup:
    """Runs whose settings are equal but for the seed."""

    run_ids: tuple[str, ...]
    seeds: tuple[int, ...]
    config: TrainConfig  # the first run's; only the seed differs within the group
    test_risks: tuple[float, ...]  # of the runs that have one

    @property
    def size(self) -> int:
        return len(self.run_ids)

    @property
    def median(self) -> float | None:
        return statistics.median(self.test_risks) if self.test_risks else None

    @property
    def spread(self) -> tuple[float, float] | None:
        return (min(self.test_risks), max(self.test_risks)) if self.test_risks else None

    @property
    def stdev(self) -> float | None:
        return statistics.stdev(self.test_risks) if len(self.test_risks) > 1 else None


def seed_groups(facts: list[RunFacts]) -> list[SeedGroup]:
    """Group the runs that differ only in seed, in the order they are first seen."""
    groups: dict[tuple, list[RunFacts]] = {}
    for fact in facts:
        key = tuple(sorted((k, repr(v)) for k, v in settings(fact.config).items() if k != "seed"))
        groups.setdefault(key, []).append(fact)
    return [
        SeedGroup(
            run_ids=tuple(f.id for f in members),
            seeds=tuple(f.config.seed for f in members),
            config=members[0].config,
            test_risks=tuple(f.test_risk for f in members if f.test_risk is not None),
        )
        for members in groups.values()
    ]


def describe(config: TrainConfig, names: list[str]) -> str:
    """'activation tanh, pooling avg': the given settings of one config, short."""
    parts = []
    for name in names:
        value = getattr(config, name)
        parts.append(
            f"{name.replace('_', ' ')} {value:g}"
            if isinstance(value, float)
            else f"{name.replace('_', ' ')} {value if value is not None else 'all'}"
        )
    return ", ".join(parts) if parts else "the lecture's recipe"
