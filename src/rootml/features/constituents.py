"""Per-constituent features relative to the jet axis, sorted by pT and padded to a fixed length."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import awkward as ak
import numpy as np

from rootml.columns import PARTICLE_FLAG_COLUMNS
from rootml.errors import ConfigError, InputError
from rootml.features.inputs import Jets, require

CONFIG_KEY = "features.constituents"


def _log(values: ak.Array) -> ak.Array:
    """Natural log (non-positive inputs give non-finite values, caught after padding)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values)


def _pt(jets: Jets, feature: str) -> ak.Array:
    """Constituent transverse momentum (jagged)."""
    return np.hypot(require(jets, "part_px", feature), require(jets, "part_py", feature))


def _jet_scalar(jets: Jets, name: str, feature: str) -> ak.Array:
    """A per-jet column shaped to broadcast against the jagged constituents."""
    return require(jets, name, feature)[:, np.newaxis]


_FEATURES: dict[str, Callable[[Jets], ak.Array]] = {
    "part_deta": lambda j: require(j, "part_deta", "part_deta"),
    "part_dphi": lambda j: require(j, "part_dphi", "part_dphi"),
    "part_logpt": lambda j: _log(_pt(j, "part_logpt")),
    "part_loge": lambda j: _log(require(j, "part_energy", "part_loge")),
    "part_logptrel": lambda j: _log(_pt(j, "part_logptrel") / _jet_scalar(j, "jet_pt", "part_logptrel")),
    "part_logerel": lambda j: _log(
        require(j, "part_energy", "part_logerel") / _jet_scalar(j, "jet_energy", "part_logerel")),
    "part_deltaR": lambda j: np.hypot(require(j, "part_deta", "part_deltaR"), require(j, "part_dphi", "part_deltaR")),
    "part_charge": lambda j: require(j, "part_charge", "part_charge"),
    **{flag: (lambda j, flag=flag: require(j, flag, flag)) for flag in PARTICLE_FLAG_COLUMNS},
}
CONSTITUENT_FEATURES: tuple[str, ...] = tuple(_FEATURES)


def _pt_order(jets: Jets, feature: str) -> ak.Array:
    """Indices sorting each jet's constituents by decreasing pT (stable for ties)."""
    return ak.argsort(_pt(jets, feature), axis=1, ascending=False, stable=True)


def _padded(values: ak.Array, order: ak.Array, n_particles: int) -> np.ndarray:
    """Jagged values in pT order, truncated or zero-padded to n_particles: (n_jets, n_particles) float32."""
    clipped = ak.pad_none(values[order], n_particles, axis=1, clip=True)
    return ak.to_numpy(ak.fill_none(clipped, 0.0)).astype(np.float32)


def _mask(order: ak.Array, n_particles: int) -> np.ndarray:
    """True for real constituents, False for padding: (n_jets, n_particles) bool."""
    return np.arange(n_particles) < np.asarray(ak.num(order, axis=1))[:, np.newaxis]


def _check_particles(n_particles: int) -> None:
    """n_particles must be a positive int."""
    if isinstance(n_particles, bool) or not isinstance(n_particles, int) or n_particles < 1:
        raise ConfigError("n_particles", f"must be a positive integer, got {n_particles!r}")


def constituent_features(jets: Jets, names: Sequence[str], n_particles: int) -> tuple[np.ndarray, np.ndarray]:
    """(features float32 (n_jets, n_particles, len(names)), mask bool (n_jets, n_particles)), pT-ordered."""
    unknown = [name for name in names if name not in _FEATURES]
    if unknown:
        raise ConfigError(CONFIG_KEY, f"unknown feature(s) {unknown}; known: {list(CONSTITUENT_FEATURES)}")
    _check_particles(n_particles)
    order = _pt_order(jets, "constituent ordering")
    mask = _mask(order, n_particles)
    columns = []
    for name in names:
        column = _padded(_FEATURES[name](jets), order, n_particles)
        if not np.isfinite(column[mask]).all():
            raise InputError(f"non-finite constituent feature '{name}' (zero or negative pT/energy, or NaN)",
                             branch=name)
        columns.append(column)
    features = np.stack(columns, axis=-1) if columns else np.zeros((*mask.shape, 0), dtype=np.float32)
    return features, mask


def padded_kinematics(jets: Jets, n_particles: int, extra: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """pt, deta, dphi, energy, charge, the `extra` part_ columns (float32) and mask (bool), pT-ordered and padded."""
    _check_particles(n_particles)
    order = _pt_order(jets, "padded kinematics")
    columns = ("deta", "dphi", "energy", "charge", *extra)
    kinematics = {
        "pt": _pt(jets, "padded kinematics"),
        **{name: require(jets, f"part_{name}", "padded kinematics") for name in columns},
    }
    return {**{name: _padded(values, order, n_particles) for name, values in kinematics.items()},
            "mask": _mask(order, n_particles)}
