"""The files of a trained model (results/models/{run}/, docs/contracts.md), named once for the rules and the code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


def weights_name(family: str) -> str:
    """File name of the weights of a model family ("torch": any torch family): XGBoost's JSON model for BDTs, a torch
    state_dict otherwise."""
    return "model.json" if family == "bdt" else "model.pt"


@dataclass(frozen=True)
class ModelFiles:
    """What the train rule writes for one run, and the checkpoint an interrupted training resumes from."""

    config: Path
    weights: Path
    metrics: Path
    history: Path
    history_csv: Path
    predictions_test: Path
    predictions_train: Path

    @classmethod
    def in_directory(cls, directory: str | Path, family: str) -> ModelFiles:
        """The files of a run of `family` in `directory` (results/models/{run})."""
        directory = Path(directory)
        return cls(config=directory / "model_config.json", weights=directory / weights_name(family),
                   metrics=directory / "metrics.json", history=directory / "history.json",
                   history_csv=directory / "history.csv", predictions_test=directory / "predictions_test.parquet",
                   predictions_train=directory / "predictions_train.parquet")

    @classmethod
    def of_outputs(cls, outputs: object) -> ModelFiles:
        """The files of a train job's named outputs (the rule's output names are this class's fields)."""
        return cls(**{name: Path(getattr(outputs, name)) for name in cls.__dataclass_fields__})

    @property
    def checkpoint(self) -> Path:
        """The checkpoint an interrupted training resumes from, next to the weights."""
        return self.weights.with_name("checkpoint.pt")

    def as_outputs(self) -> dict[str, str]:
        """Output name -> path, for a rule's named outputs."""
        return {name: str(path) for name, path in asdict(self).items()}
