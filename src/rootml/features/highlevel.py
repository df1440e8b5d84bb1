"""Per-row (high-level) features, vectorised per chunk: the built-in jet features (kinematics, substructure,
energy-correlation ratios, pT_D, girth) computed from set `part` when asked for, any other name the ingested per-row
column."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import awkward as ak
import fastjet
import numpy as np
import vector

from rootml.errors import InputError
from rootml.features.available import PART
from rootml.features.inputs import Jets, column_names, require
from rootml.features.sets import SetElements
from rootml.features.substructure import TAU_ORDERS, substructure_columns

ECF_BETAS: tuple[int, ...] = (1, 2)
_CA_ONE_JET = fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0)  # every constituent in one jet


class _Chunk:
    """One chunk of jets, computing on first use the quantities several features share."""

    def __init__(self, jets: Jets, jet_radius: float) -> None:
        """Wrap the chunk's columns."""
        self.jets = jets
        self.jet_radius = jet_radius
        self._cache: dict[object, np.ndarray] = {}
        self._sequence: tuple[np.ndarray, fastjet.ClusterSequence | None] | None = None

    def cached(self, key: object, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """compute(), evaluated once per chunk and key."""
        if key not in self._cache:
            self._cache[key] = np.asarray(compute())
        return self._cache[key]

    def stored_or(self, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The input's own column `name` when it has one (e.g. JetClass substructure), else compute()."""
        if name in column_names(self.jets):
            return np.asarray(self.jets[name], dtype=np.float32)
        return self.cached(name, compute)

    def momenta(self, feature: str) -> dict[str, ak.Array]:
        """Constituent px, py, pz, energy (jagged), which `feature` needs."""
        return {c: require(self.jets, f"part_{c}", feature) for c in ("px", "py", "pz", "energy")}

    def substructure(self, name: str) -> np.ndarray:
        """jet_sdmass or jet_tauN, stored or computed once for all of them from the constituents."""
        def compute() -> np.ndarray:
            """Run the substructure once and cache all its columns."""
            self._cache.update(substructure_columns(**self.momenta(name), jet_radius=self.jet_radius))
            return self._cache[name]
        return self.stored_or(name, compute)

    def jet_sum(self, feature: str) -> vector.MomentumNumpy4D:
        """Four-momentum sum of each jet's constituents."""
        totals = {c: np.asarray(ak.sum(v, axis=1), dtype=np.float64) for c, v in self.momenta(feature).items()}
        return vector.array({"px": totals["px"], "py": totals["py"], "pz": totals["pz"], "E": totals["energy"]})

    def ecf(self, npoint: int, beta: int, feature: str) -> np.ndarray:
        """Normalised energy correlation function e_npoint(beta) of each jet, via fjcontrib's EnergyCorrelator."""
        # fjcontrib's generalized ECF with all angles is the standard ECF (pT_R measure: pT weights,
        # rapidity-azimuth distances), normalised so that e1 = 1; C2 and D2 do not depend on the normalisation.
        def compute() -> np.ndarray:
            """Evaluate the correlator on the one C/A jet holding all constituents (0 for empty jets)."""
            filled, sequence = self.one_jet_sequence(feature)
            values = np.zeros(len(filled))
            if filled.any():
                values[filled] = np.asarray(sequence.exclusive_jets_energy_correlator(
                    njets=1, beta=beta, npoint=npoint, func="generalized", normalized=True))
            return values
        return self.cached(("ecf", npoint, beta), compute)

    def one_jet_sequence(self, feature: str) -> tuple[np.ndarray, fastjet.ClusterSequence | None]:
        """Which jets have constituents, and a C/A clustering of those into one jet each."""
        if self._sequence is None:
            momenta = self.momenta(feature)
            filled = np.asarray(ak.num(momenta["px"], axis=1)) > 0  # fastjet cannot cluster an empty jet
            sequence = None
            if filled.any():
                constituents = ak.zip({"px": momenta["px"][filled], "py": momenta["py"][filled],
                                       "pz": momenta["pz"][filled], "E": momenta["energy"][filled]})
                sequence = fastjet.ClusterSequence(ak.values_astype(constituents, np.float64), _CA_ONE_JET)
            self._sequence = (filled, sequence)
        return self._sequence

    def particle_pt(self, feature: str) -> ak.Array:
        """Transverse momentum of each constituent (jagged)."""
        return np.hypot(require(self.jets, "part_px", feature), require(self.jets, "part_py", feature))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (e.g. tau2/tau1 of a one-particle jet)."""
    out = np.zeros_like(numerator, dtype=np.float32)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _c2(beta: int) -> Callable[[_Chunk], np.ndarray]:
    """C2(beta) = e3 e1 / e2^2, 0 for jets without a pair of constituents."""
    name = f"jet_c2_b{beta}"
    return lambda chunk: _ratio(chunk.ecf(3, beta, name) * chunk.ecf(1, beta, name), chunk.ecf(2, beta, name) ** 2)


def _d2(beta: int) -> Callable[[_Chunk], np.ndarray]:
    """D2(beta) = e3 e1^3 / e2^3, 0 for jets without a pair of constituents."""
    name = f"jet_d2_b{beta}"
    return lambda chunk: _ratio(chunk.ecf(3, beta, name) * chunk.ecf(1, beta, name) ** 3, chunk.ecf(2, beta, name) ** 3)


def _ptd(chunk: _Chunk) -> np.ndarray:
    """pT_D = sqrt(sum pT^2) / sum pT over the constituents."""
    pt = chunk.particle_pt("jet_ptd")
    return _ratio(np.sqrt(np.asarray(ak.sum(pt**2, axis=1))), np.asarray(ak.sum(pt, axis=1)))


def _girth(chunk: _Chunk) -> np.ndarray:
    """Girth = sum pT_i dR_i / pT_jet, dR_i the constituent's distance to the jet axis."""
    particles = SetElements(chunk.jets, PART)
    delta_r = np.hypot(particles.deta("jet_girth"), particles.dphi("jet_girth"))
    weighted = np.asarray(ak.sum(chunk.particle_pt("jet_girth") * delta_r, axis=1))
    return _ratio(weighted, _FEATURES["jet_pt"](chunk))


_FEATURES: dict[str, Callable[[_Chunk], np.ndarray]] = {
    "jet_pt": lambda c: c.stored_or("jet_pt", lambda: c.jet_sum("jet_pt").pt),
    "jet_eta": lambda c: c.stored_or("jet_eta", lambda: c.jet_sum("jet_eta").eta),
    "jet_mass": lambda c: c.stored_or("jet_mass", lambda: np.maximum(c.jet_sum("jet_mass").mass, 0.0)),
    "jet_sdmass": lambda c: c.substructure("jet_sdmass"),
    **{f"jet_tau{n}": (lambda c, n=n: c.substructure(f"jet_tau{n}")) for n in TAU_ORDERS},
    "jet_tau21": lambda c: _ratio(c.substructure("jet_tau2"), c.substructure("jet_tau1")),
    "jet_tau32": lambda c: _ratio(c.substructure("jet_tau3"), c.substructure("jet_tau2")),
    **{f"jet_c2_b{b}": _c2(b) for b in ECF_BETAS},
    **{f"jet_d2_b{b}": _d2(b) for b in ECF_BETAS},
    "jet_nparticles": lambda c: c.stored_or(
        "jet_nparticles", lambda: ak.num(require(c.jets, "part_px", "jet_nparticles"), axis=1)),
    "jet_ptd": _ptd,
    "jet_girth": _girth,
}
HIGHLEVEL_FEATURES: tuple[str, ...] = tuple(_FEATURES)


def scalar_column(jets: Jets, name: str) -> np.ndarray:
    """A stored per-row column as float32, or InputError naming it when it is missing, a list or not numbers."""
    values = require(jets, name, name)
    if values.ndim != 1:
        raise InputError("a list column (a field of a set), not a per-row scalar", branch=name)
    try:
        return np.asarray(ak.to_numpy(values), dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise InputError(f"not a numeric column ({values.type})", branch=name) from err


def highlevel_features(jets: Jets, names: Sequence[str], jet_radius: float) -> dict[str, np.ndarray]:
    """The named per-row features (float32): built-ins computed (reusing columns the input already has), any other
    name the stored column."""
    chunk = _Chunk(jets, jet_radius)
    return {name: np.asarray(_FEATURES[name](chunk), dtype=np.float32) if name in _FEATURES
            else scalar_column(jets, name) for name in names}
