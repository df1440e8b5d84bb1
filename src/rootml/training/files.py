"""The files of a trained model (results/models/{run}/, docs/contracts.md), named once for the rules and the code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rootml.files import FileSet


def weights_name(family: str) -> str:
    """File name of the weights of a model family ("torch": any torch family): XGBoost's JSON model for BDTs, a torch
    state_dict otherwise."""
    return "model.json" if family == "bdt" else "model.pt"


@dataclass(frozen=True)
class ModelFiles(FileSet):
    """What the train rule writes for one run, and the checkpoint an interrupted training resumes from."""

    NAMES = {"config": "model_config.json", "weights": "model.pt", "metrics": "metrics.json",
             "history": "history.json", "history_csv": "history.csv",
             "predictions_test": "predictions_test.parquet", "predictions_train": "predictions_train.parquet"}

    config: Path
    weights: Path
    metrics: Path
    history: Path
    history_csv: Path
    predictions_test: Path
    predictions_train: Path

    @classmethod
    def of_family(cls, directory: str | Path, family: str) -> ModelFiles:
        """The files of a run of `family` in `directory` (results/models/{run}): its weights named for the family."""
        return replace(cls.in_directory(directory), weights=Path(directory) / weights_name(family))

    @property
    def predictions_oof(self) -> Path:
        """A fold run's out-of-fold predictions (its validation fold's jets, rootml.training.folds), beside the test
        predictions; the rule of fold runs names it as one more output."""
        return self.predictions_test.with_name("predictions_oof.parquet")

    @property
    def checkpoint(self) -> Path:
        """The checkpoint an interrupted training resumes from, next to the weights."""
        return self.weights.with_name("checkpoint.pt")
