"""Per-row label, weight, event id and selection from the sample's config expressions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np

from rootml.errors import ConfigError, InputError
from rootml.ingest.expressions import Expression
from rootml.ingest.spec import SampleSpec
from rootml.seeds import stable_event_ids

NO_LABEL = -1


def per_row(expression: Expression, columns: Mapping[str, Any], n: int) -> np.ndarray:
    """Evaluate an expression to one value per row (constants broadcast); lists per row are a config error."""
    value = expression.evaluate(columns)
    if isinstance(value, ak.Array):
        if value.ndim != 1:
            raise ConfigError(expression.key, f"expression {expression.text!r} gives a list per row, not one value")
        value = ak.to_numpy(value)
    return np.broadcast_to(np.asarray(value), (n,))


def labels(spec: SampleSpec, columns: Mapping[str, Any], n: int, classes: list[str], file: str) -> np.ndarray:
    """Class index per row: the sample's constant label, or the one class whose expression holds (NO_LABEL if none)."""
    if spec.label is not None:
        return np.full(n, spec.label, dtype=np.int32)
    result = np.full(n, NO_LABEL, dtype=np.int32)
    for index, expression in spec.labels.items():
        holds = per_row(expression, columns, n) != 0
        clash = holds & (result != NO_LABEL)
        if clash.any():
            other = classes[int(result[clash][0])]
            raise InputError(
                f"a row matches the label expressions of both classes '{other}' and '{classes[index]}' "
                f"(samples.{spec.name}.labels)", file=file,
            )
        result[holds] = index
    return result


def weights(spec: SampleSpec, columns: Mapping[str, Any], n: int, file: str) -> np.ndarray:
    """Weight per row (1 without a `weight` expression); NaN or inf names the expression."""
    if spec.weight is None:
        return np.ones(n, dtype=np.float32)
    values = per_row(spec.weight, columns, n).astype(np.float32)
    if not np.isfinite(values).all():
        raise InputError(f"weight expression {spec.weight.text!r} gives NaN or inf ({spec.weight.key})", file=file)
    return values


def event_ids(spec: SampleSpec, columns: Mapping[str, Any], entry: np.ndarray, namespace: str) -> np.ndarray:
    """Stable int64 event id per row from the `event_id` expression (else the entry number) and the namespace."""
    if spec.event_id is None:
        return stable_event_ids(namespace, entry)
    values = per_row(spec.event_id, columns, len(entry))
    if values.dtype.kind not in "iub":
        raise ConfigError(
            spec.event_id.key, f"expression {spec.event_id.text!r} must give integers, got {values.dtype}"
        )
    return stable_event_ids(namespace, values)


def selected(spec: SampleSpec, columns: Mapping[str, Any], n: int) -> np.ndarray:
    """Boolean mask of the rows passing the `selection` expression (all without one)."""
    if spec.selection is None:
        return np.ones(n, dtype=bool)
    return per_row(spec.selection, columns, n) != 0
