"""The pruning figure: a performance metric against the fraction of pruned weights, several models on one axes, one
line style per pruning method (the `method` column of a pruning table: magnitude, structured)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)
REQUIRED_COLUMNS = ("sparsity", "metric")
DEFAULT_METHOD = "magnitude"  # tables written before the `method` column held magnitude pruning only
METHOD_STYLES = {"magnitude": {"linestyle": "-", "marker": "o"}, "structured": {"linestyle": "--", "marker": "s"}}


def by_method(table: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """(method, its rows sorted by sparsity) for each method of a pruning table, in order of appearance."""
    methods = table["method"] if "method" in table.columns else pd.Series(DEFAULT_METHOD, index=table.index)
    for method in methods.unique():
        yield str(method), table[methods == method].sort_values("sparsity")


def method_style(method: str) -> dict[str, str]:
    """Line style and marker of a pruning method."""
    return METHOD_STYLES.get(method, {"linestyle": ":", "marker": "^"})


def plot_metric_vs_sparsity(
    tables: Mapping[str, pd.DataFrame], out_stem: str | os.PathLike[str], *, metric_label: str = "AUC",
) -> list[Path]:
    """Metric vs measured weight sparsity of each model (name -> pruning table with sparsity, metric columns and
    optionally method): one colour per model, one line style per method; a legend entry per model and method when
    more than one method ran."""
    if not tables:
        raise ValueError("no pruning tables to plot")
    for name, table in tables.items():
        missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
        if missing:
            raise ValueError(f"pruning table of model '{name}' lacks columns {missing}")
        if table.empty:
            raise ValueError(f"pruning table of model '{name}' has no rows")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    several = any(len(list(by_method(table))) > 1 for table in tables.values())
    for index, (name, table) in enumerate(tables.items()):
        for method, rows in by_method(table):
            ax.plot(100 * rows["sparsity"], rows["metric"], color=f"C{index % 10}", **method_style(method),
                    label=f"{name} ({method})" if several else name)
    ax.set_xlabel("Pruned weights [%]")
    ax.set_ylabel(metric_label)
    ax.set_xlim(0, 100)
    ax.legend(title="Model (method)" if several else "Model", fontsize="small")
    return save_figure(fig, out_stem)


def plot_class_metric_vs_sparsity(
    table: pd.DataFrame, classes: Sequence[str], out_stem: str | os.PathLike[str], *, model: str,
    prefix: str = "auc_", metric_label: str = "One-vs-rest AUC",
) -> list[Path]:
    """Per-class metric (columns {prefix}{class} of one model's pruning table) against the measured sparsity, one line
    style per pruning method."""
    columns = [f"{prefix}{name}" for name in classes]
    missing = [column for column in ("sparsity", *columns) if column not in table.columns]
    if missing:
        raise ValueError(f"pruning table of model '{model}' lacks columns {missing}")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    methods = list(by_method(table))
    for index, (name, column) in enumerate(zip(classes, columns)):
        for number, (method, rows) in enumerate(methods):
            label = name if number == 0 else None  # classes in the legend; the title names the styles
            ax.plot(100 * rows["sparsity"], rows[column], color=f"C{index % 10}", **method_style(method), label=label)
    ax.set_xlabel("Pruned weights [%]")
    ax.set_ylabel(metric_label)
    ax.set_xlim(0, 100)
    # the AUCs fall with the sparsity, so the lower left corner stays free of curves
    styles = ", ".join(f"{method} {method_style(method)['linestyle']}" for method, _ in methods)
    title = f"{model}: class" + (f" ({styles})" if len(methods) > 1 else "")
    ax.legend(title=title, fontsize="small", loc="lower left", ncols=min(len(classes), 3))
    return save_figure(fig, out_stem)
