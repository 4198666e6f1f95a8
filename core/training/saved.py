"""A run folder's config.json as a checked TrainConfig: where the run store and the config
meet, so that neither core/training/config.py (what a run is) nor core/runs/store.py (folders
on disk) imports the other."""

from __future__ import annotations

from core.runs.store import Run, RunDamagedError
from core.training.config import TrainConfig, config_from_dict


def load_config(run: Run) -> TrainConfig:
    """The run's config.json as a checked TrainConfig; RunDamagedError names what is wrong."""
    try:
        return config_from_dict(run.read_config())
    except RunDamagedError:
        raise
    except ValueError as error:
        raise RunDamagedError("config.json", str(error)) from None
