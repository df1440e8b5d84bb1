"""Temperature scaling of a trained classifier right after training: T fitted on the validation jets (their
weights), the calibrated score_cal_{class} columns of the prediction tables and the validation ECE before and
after (metrics.json)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import softmax

from rootml.metrics.calibration import fit_temperature, scale_temperature, top_class_ece
from rootml.training.data import SplitReader
from rootml.training.inference import Collected, Forward, collect


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature and the weighted top-class ECE of the validation jets before and after scaling."""

    classes: list[str]
    temperature: float
    val_ece: float
    val_ece_calibrated: float

    def metrics(self) -> dict[str, Any]:
        """temperature, val_ece and val_ece_calibrated for metrics.json."""
        return {"temperature": self.temperature, "val_ece": self.val_ece,
                "val_ece_calibrated": self.val_ece_calibrated}

    def columns(self, reader: SplitReader, max_rows: int | None, collected: Collected) -> dict[str, np.ndarray]:
        """score_cal_{class}: softmax(outputs / T) of the collected logits (or a BDT's log-probabilities)."""
        probabilities = scale_temperature(collected.outputs, self.temperature)
        return {f"score_cal_{name}": probabilities[:, i].astype(np.float32) for i, name in enumerate(self.classes)}


def calibrate(forward: Forward, reader: SplitReader, input_keys: Sequence[str], batch_size: int,
              classes: Sequence[str]) -> Calibration:
    """Fit the temperature of the classifier `forward` (logits or log-probabilities) on the split of `reader` (the
    validation jets), weighted by the jet weights."""
    collected = collect(forward, reader, input_keys, ["label", "weight"], batch_size)
    logits, labels = collected.outputs.astype(np.float64), collected.meta["label"]
    weight = collected.meta["weight"].astype(np.float64)
    temperature = fit_temperature(logits, labels, weight)
    return Calibration(list(classes), temperature, top_class_ece(softmax(logits, axis=1), labels, weight),
                       top_class_ece(scale_temperature(logits, temperature), labels, weight))
