"""One step of input as rows (jets, any collection's elements, or events): the unit every source yields and the
rest of ingestion consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import awkward as ak
import numpy as np

Array = np.ndarray | ak.Array


@dataclass(frozen=True)
class RowBatch:
    """Per-row columns and sets of one step with the entry (event) number and index in the event of each row.

    `sets` are set name -> field -> one list per row; `sources` names the branch or dataset behind each
    column and each set field `<set>_<field>` (for error messages); `aux` are columns read only for
    expressions (selection, labels, ...) and not written.
    """

    columns: Mapping[str, Array]
    sets: Mapping[str, Mapping[str, ak.Array]]
    sources: Mapping[str, str]
    aux: frozenset[str]
    entry: np.ndarray
    jet_index: np.ndarray
    entries: int

    def given(self) -> dict[str, Array]:
        """Every column read: the per-row columns and each set field as `<set>_<field>`."""
        return {**self.columns, **{f"{s}_{f}": v for s, fields in self.sets.items() for f, v in fields.items()}}


def as_rows(values: Array) -> Array:
    """Flat awkward columns as numpy (zero-copy); jagged ones stay awkward."""
    if isinstance(values, ak.Array) and values.ndim == 1 and not values.fields:
        return ak.to_numpy(values)
    return values


def take_rows(values: Array, mask: np.ndarray) -> Array:
    """The rows of a numpy or awkward column where `mask` is true."""
    return values[mask] if isinstance(values, np.ndarray) else values[ak.Array(mask)]
