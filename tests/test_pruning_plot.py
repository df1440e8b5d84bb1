"""Metric-vs-sparsity figure: several models on one axes, PDF and PNG written, bad tables rejected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rootml.plotting.pruning import plot_metric_vs_sparsity


def test_plot_writes_pdf_and_png(tmp_path: Path) -> None:
    """Two models' tables give one non-empty PDF and one non-empty PNG."""
    tables = {"mlp": pd.DataFrame({"sparsity": [0.0, 0.5, 0.9], "metric": [0.91, 0.90, 0.85]}),
              "pnet": pd.DataFrame({"sparsity": [0.0, 0.75, 0.5], "metric": [0.95, 0.93, 0.94]})}
    written = plot_metric_vs_sparsity(tables, tmp_path / "pruning", metric_label="AUC (macro)")
    assert [p.name for p in written] == ["pruning.pdf", "pruning.png"]
    assert all(p.stat().st_size > 1000 for p in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pruning.pdf", "pruning.png"]


@pytest.mark.parametrize("tables,message", [
    ({}, "no pruning tables"),
    ({"bdt": pd.DataFrame({"sparsity": [0.1]})}, "model 'bdt' lacks columns \\['metric'\\]"),
    ({"mlp": pd.DataFrame({"sparsity": [], "metric": []})}, "model 'mlp' has no rows"),
])
def test_bad_tables_are_rejected(tmp_path: Path, tables: dict, message: str) -> None:
    """Empty input, missing columns or empty tables raise ValueError naming the model; nothing is written."""
    with pytest.raises(ValueError, match=message):
        plot_metric_vs_sparsity(tables, tmp_path / "pruning")
    assert not list(tmp_path.iterdir())
