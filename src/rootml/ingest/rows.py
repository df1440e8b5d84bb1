"""One step of input as per-jet rows: the unit every source yields and the rest of ingestion consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import awkward as ak
import numpy as np

Array = np.ndarray | ak.Array


@dataclass(frozen=True)
class RowBatch:
    """Per-jet columns of one step with the entry (event) number and index in the event of each jet.

    `sources` names the branch or dataset behind each column (for error messages); `aux` are
    columns read only for expressions (selection, labels, ...) and not written.
    """

    columns: Mapping[str, Array]
    sources: Mapping[str, str]
    aux: frozenset[str]
    entry: np.ndarray
    jet_index: np.ndarray
    entries: int


def as_rows(values: Array) -> Array:
    """Flat awkward columns as numpy (zero-copy); jagged ones stay awkward."""
    if isinstance(values, ak.Array) and values.ndim == 1 and not values.fields:
        return ak.to_numpy(values)
    return values


def take_rows(values: Array, mask: np.ndarray) -> Array:
    """The rows of a numpy or awkward column where `mask` is true."""
    return values[mask] if isinstance(values, np.ndarray) else values[ak.Array(mask)]
