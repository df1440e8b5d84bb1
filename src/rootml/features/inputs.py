"""Reading canonical columns from a chunk of jets given as an awkward record array or a dict of columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awkward as ak

from rootml.errors import InputError

Jets = ak.Array | Mapping[str, Any]


def column_names(jets: Jets) -> tuple[str, ...]:
    """Names of the columns a chunk of jets carries."""
    return tuple(jets.fields) if isinstance(jets, ak.Array) else tuple(jets)


def require(jets: Jets, name: str, needed_for: str) -> ak.Array:
    """Column `name` as an awkward array, or InputError naming it and what needed it."""
    if name not in column_names(jets):
        raise InputError(f"column missing, needed for '{needed_for}'", branch=name)
    return ak.Array(jets[name])
