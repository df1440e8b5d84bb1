"""The generator settings shared by every generated sample (the config's `generate` block)."""

from __future__ import annotations

from dataclasses import dataclass

from rootml.settings import Settings


@dataclass(frozen=True)
class GenerateSettings(Settings):
    """Collision energy, jet radius, the jet pT/eta window and the detector card (config/schema.yaml documents each)."""

    BLOCK = "generate"

    sqrt_s: float
    jet_radius: float
    pt_min: float
    pt_max: float
    abs_eta_max: float
    simulate: str | None  # detector card of rootml.simulate (config/cards/<name>.yaml), None: generator level
