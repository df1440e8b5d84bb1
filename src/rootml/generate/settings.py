"""The generator settings shared by every generated sample (the config's `generate` block), and a sample's overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rootml.errors import ConfigError
from rootml.settings import Settings

SAMPLE_OVERRIDES = ("simulate",)  # keys of samples.<name>.generate that override the generate block


@dataclass(frozen=True)
class PileupSettings:
    """The `generate.pileup` block, typed (config/schema.yaml documents each key; lengths in mm)."""

    mu: float
    process: str
    pool_events: int
    vertex_z_sigma: float
    vertex_z_max: float
    z_resolution: float


@dataclass(frozen=True)
class GenerateSettings(Settings):
    """Collision energy, jet radius, the jet pT/eta window, the detector card and pileup (config/schema.yaml documents
    each)."""

    BLOCK = "generate"

    sqrt_s: float
    jet_radius: float
    pt_min: float
    pt_max: float
    abs_eta_max: float
    simulate: str | None  # detector card of rootml.simulate (config/cards/<name>.yaml), None: generator level
    pileup: dict[str, Any] | None  # the pileup block with its defaults filled in, None: no pileup

    @property
    def pileup_settings(self) -> PileupSettings | None:
        """The pileup block as PileupSettings (None: no pileup)."""
        return None if self.pileup is None else PileupSettings(**self.pileup)

    def for_sample(self, overrides: Mapping[str, Any] | None) -> GenerateSettings:
        """These settings with a sample's `generate` overrides (samples.<name>.generate.simulate) applied."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(SAMPLE_OVERRIDES))
        if unknown:
            raise ConfigError(f"samples.generate.{unknown[0]}",
                              f"not a per-sample generate setting; allowed: {list(SAMPLE_OVERRIDES)}")
        return dataclasses.replace(self, **overrides)
