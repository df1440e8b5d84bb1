"""Per-element features of a set (a jet's particles, an event's muons, ...), ordered by decreasing pT when the set has
momenta, truncated and zero-padded to a fixed length.

A feature `<set>_<name>` is the ingested list column of that name when there is one (raw fields pass through), else a
built-in of a set with four-momenta (`<set>_px, _py, _pz, _energy`): `deta, dphi, deltaR` to the row's axis, `pt`,
`logpt`, `loge`, and `logptrel`, `logerel` relative to the row's pT and energy. The row's axis is its jet columns
(jet_eta, jet_phi, jet_pt, jet_energy), or the sum of the set's four-momenta for rows without them (events).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import awkward as ak
import numpy as np

from rootml.errors import ConfigError, InputError
from rootml.features.available import FOUR_MOMENTUM
from rootml.features.inputs import Jets, column_names, require


def _log(values: ak.Array) -> ak.Array:
    """Natural log (non-positive inputs give non-finite values, caught after padding)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values)


class SetElements:
    """The elements of one set in a block of rows (jagged), computing on first use what several features share."""

    def __init__(self, rows: Jets, name: str) -> None:
        """Wrap the rows' columns."""
        self.rows = rows
        self.name = name
        self._columns = column_names(rows)

    def _list(self, name: str, needed_for: str) -> ak.Array:
        """The stored list column `name`, or InputError naming it when it is missing or a per-row scalar."""
        values = require(self.rows, name, needed_for)
        if values.ndim != 2:
            raise InputError(f"a per-row scalar, not a list column of set '{self.name}'", branch=name)
        return values

    def field(self, field: str, needed_for: str) -> ak.Array:
        """The list column <set>_<field>, or InputError naming it and what needed it."""
        return self._list(f"{self.name}_{field}", needed_for)

    def has(self, *fields: str) -> bool:
        """Whether the rows carry every list column <set>_<field> of `fields`."""
        return all(f"{self.name}_{field}" in self._columns for field in fields)

    def pt(self, needed_for: str) -> ak.Array:
        """Transverse momentum of each element (jagged), from px and py."""
        return np.hypot(self.field("px", needed_for), self.field("py", needed_for))

    @functools.cached_property
    def _sum(self) -> dict[str, np.ndarray]:
        """pt, eta, phi and energy of the sum of each row's four-momenta (float64; the axis of rows without one)."""
        px, py, pz, energy = (np.asarray(ak.sum(self.field(c, "the set's axis"), axis=1), dtype=np.float64)
                              for c in FOUR_MOMENTUM)
        pt = np.hypot(px, py)
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = np.arcsinh(pz / pt)
        return {"pt": pt, "eta": eta, "phi": np.arctan2(py, px), "energy": energy}

    def axis(self, quantity: str, needed_for: str) -> ak.Array:
        """The row's jet_<quantity> (pt, eta, phi, energy), else that of the set's sum, shaped to broadcast against
        the elements."""
        name = f"jet_{quantity}"
        if name in self._columns:
            return require(self.rows, name, needed_for)[:, np.newaxis]
        if not self.has(*FOUR_MOMENTUM):
            raise InputError(f"column missing, needed for '{needed_for}' (and set '{self.name}' has no four-momenta "
                             "to sum instead)", branch=name)
        return ak.Array(self._sum[quantity])[:, np.newaxis]

    def _angle(self, quantity: str, needed_for: str) -> ak.Array:
        """eta or phi of each element (jagged), from the four-momentum."""
        px, py, pz = (self.field(c, needed_for) for c in ("px", "py", "pz"))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.arcsinh(pz / np.hypot(px, py)) if quantity == "eta" else np.arctan2(py, px)

    def deta(self, needed_for: str) -> ak.Array:
        """Stored <set>_deta, else the elements' eta minus the row's axis eta."""
        if self.has("deta"):
            return self.field("deta", needed_for)
        return self._angle("eta", needed_for) - self.axis("eta", needed_for)

    def dphi(self, needed_for: str) -> ak.Array:
        """Stored <set>_dphi, else the elements' phi minus the row's axis phi, in [-pi, pi)."""
        if self.has("dphi"):
            return self.field("dphi", needed_for)
        return (self._angle("phi", needed_for) - self.axis("phi", needed_for) + np.pi) % (2 * np.pi) - np.pi

    def values(self, feature: str) -> ak.Array:
        """One feature of every element (jagged): the stored column, else the built-in."""
        if feature in self._columns:
            return self._list(feature, feature)
        suffix = feature.removeprefix(f"{self.name}_")
        if suffix == feature or suffix not in _BUILTINS:
            raise InputError(f"column missing, needed for set '{self.name}'", branch=feature)
        return _BUILTINS[suffix](self, feature)

    @functools.cached_property
    def order(self) -> ak.Array:
        """Indices sorting each row's elements by decreasing pT (stable for ties); input order without momenta."""
        if self.has("px", "py"):
            return ak.argsort(self.pt("the pT ordering"), axis=1, ascending=False, stable=True)
        return ak.local_index(self._list(self._first_field(), "the element order"), axis=1)

    def _first_field(self) -> str:
        """The first list column of the set, or InputError when the rows have none."""
        prefix = f"{self.name}_"
        fields = [name for name in self._columns if name.startswith(prefix)]
        if not fields:
            raise InputError(f"no column of set '{self.name}' ({prefix}*) in the ingested data", branch=f"{prefix}*")
        return fields[0]


class SetBlock(SetElements):
    """The elements of one set in a block of rows in element order, truncated or zero-padded to `max_length`."""

    def __init__(self, rows: Jets, name: str, max_length: int) -> None:
        """Wrap the rows' columns; `max_length` elements are kept per row."""
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ConfigError(f"features.sets.{name}.max_length", f"must be a positive integer, got {max_length!r}")
        super().__init__(rows, name)
        self.max_length = max_length

    @functools.cached_property
    def mask(self) -> np.ndarray:
        """True for real elements, False for padding: (n_rows, max_length) bool."""
        return np.arange(self.max_length) < np.asarray(ak.num(self.order, axis=1))[:, np.newaxis]

    def padded(self, feature: str) -> np.ndarray:
        """One feature in element order, truncated or zero-padded: (n_rows, max_length) float32; InputError naming it
        when its lists are not numbers, not as long as the set's, or a real element's value is NaN or inf."""
        values = self.values(feature)
        if not np.array_equal(ak.num(values, axis=1), ak.num(self.order, axis=1)):
            raise InputError(f"other per-row lengths than the other columns of set '{self.name}'", branch=feature)
        try:
            clipped = ak.pad_none(values[self.order], self.max_length, axis=1, clip=True)
            column = ak.to_numpy(ak.fill_none(clipped, 0.0)).astype(np.float32)
        except (TypeError, ValueError) as err:
            raise InputError(f"not a numeric list column ({values.type})", branch=feature) from err
        if not np.isfinite(column[self.mask]).all():
            raise InputError(f"non-finite feature '{feature}' of set '{self.name}' (zero or negative pT/energy, "
                             "or NaN)", branch=feature)
        return column

    def stacked(self, features: Sequence[str]) -> np.ndarray:
        """The padded features stacked on axis 1: (n_rows, len(features), max_length) float32."""
        return np.stack([self.padded(feature) for feature in features], axis=1)


# keyed by the suffixes of rootml.features.available.SET_BUILTINS
_BUILTINS: dict[str, Callable[[SetElements, str], ak.Array]] = {
    "deta": lambda s, f: s.deta(f),
    "dphi": lambda s, f: s.dphi(f),
    "pt": lambda s, f: s.pt(f),
    "logpt": lambda s, f: _log(s.pt(f)),
    "loge": lambda s, f: _log(s.field("energy", f)),
    "logptrel": lambda s, f: _log(s.pt(f) / s.axis("pt", f)),
    "logerel": lambda s, f: _log(s.field("energy", f) / s.axis("energy", f)),
    "deltaR": lambda s, f: np.hypot(s.deta(f), s.dphi(f)),
}
