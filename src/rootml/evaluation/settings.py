"""The evaluation settings (the config's `evaluate` block), with the signal and background defaults of the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rootml.settings import Settings, resolve_block


@dataclass(frozen=True)
class EvaluateSettings(Settings):
    """Signal and background classes, working points, uncertainties and sculpting options (config/schema.yaml)."""

    BLOCK = "evaluate"

    signal: list[str]
    background: list[str]
    efficiencies: list[float]
    reference_model: str | None
    weighted: bool
    n_bootstrap: int
    calibration_bins: int
    sculpting: dict[str, Any]

    @classmethod
    def for_run(cls, block: Mapping[str, Any] | None, classes: Sequence[str],
                observers: Sequence[str]) -> EvaluateSettings:
        """The block with the run's defaults: signal the last class, background the others, and the sculpting
        observable jet_mass when it is among the run's observers (else no sculpting)."""
        values = resolve_block(cls.BLOCK, block)
        values.setdefault("signal", [classes[-1]])
        values.setdefault("background", [name for name in classes if name not in values["signal"]])
        if values["sculpting"]["observable"] is None and "jet_mass" in observers:
            values["sculpting"] = {**values["sculpting"], "observable": "jet_mass"}
        return cls(**values)

