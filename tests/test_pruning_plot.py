"""Metric-vs-sparsity figure: several models on one axes, a line style per pruning method, PDF and PNG written, bad
tables rejected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rootml.plotting.pruning import plot_class_metric_vs_sparsity, plot_metric_vs_sparsity


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


def test_each_method_gets_its_own_line_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table with magnitude and structured rows draws two lines of one colour (solid, dashed), sorted by sparsity;
    a table without a method column is magnitude pruning; the per-class figure draws each class per method."""
    figures = []
    monkeypatch.setattr("rootml.plotting.pruning.save_figure", lambda fig, stem: figures.append(fig) or [])
    both = pd.DataFrame({"method": ["magnitude"] * 3 + ["structured"] * 3,
                         "sparsity": [0.0, 0.5, 0.9, 0.0, 0.69, 0.39], "metric": [0.9, 0.89, 0.8, 0.9, 0.88, 0.89],
                         "auc_a": [0.8] * 6, "auc_b": [0.7] * 6})
    old = pd.DataFrame({"sparsity": [0.0, 0.5], "metric": [0.95, 0.94]})
    plot_metric_vs_sparsity({"mlp": both, "cnn": old}, tmp_path / "pruning")
    lines = figures[0].axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["mlp (magnitude)", "mlp (structured)", "cnn (magnitude)"]
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert list(lines[1].get_xdata()) == [0.0, 39.0, 69.0] and list(lines[1].get_ydata()) == [0.9, 0.89, 0.88]

    plot_class_metric_vs_sparsity(both, ["a", "b"], tmp_path / "classes", model="mlp")
    ax = figures[1].axes[0]
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", "--", "-", "--"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]
    assert "structured --" in ax.get_legend().get_title().get_text()
