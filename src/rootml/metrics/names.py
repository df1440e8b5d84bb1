"""Names of metrics, light enough for the Snakefile to import: the suffix that names a signal efficiency."""

from __future__ import annotations


def percent(efficiency: float) -> str:
    """Name suffix of a signal efficiency in metric columns and figure names: 0.3 -> '30'."""
    return f"{100 * efficiency:g}"
