"""The quantization figure: a model's metric against the bit width of its weights and layer outputs, post-training
(PTQ) and quantization-aware (QAT), with the float model as a horizontal reference (as arXiv:1804.06913, Fig. 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)
METHODS = {"ptq_metric": "Post-training quantization", "qat_metric": "Quantization-aware training"}


def plot_metric_vs_bits(
    table: pd.DataFrame, out_stem: str | os.PathLike[str], *, model: str, float_metric: float,
    int8_metric: float | None = None, metric_label: str = "AUC",
) -> list[Path]:
    """Metric vs bit width, one line per method with values (columns ptq_metric, qat_metric of the quantization
    table), the float model's metric as a dashed line and, when given, onnxruntime's int8 model as a marker at 8."""
    missing = [column for column in ("bits", "ptq_metric") if column not in table.columns]
    if missing:
        raise ValueError(f"quantization table of model '{model}' lacks columns {missing}")
    if table.empty:
        raise ValueError(f"quantization table of model '{model}' has no rows")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    ordered = table.sort_values("bits")
    for column, label in METHODS.items():
        if column in ordered and ordered[column].notna().any():
            ax.plot(ordered["bits"], ordered[column], marker="o", label=label)
    ax.axhline(float_metric, color="black", linestyle="--", label="Float (32 bits)")
    if int8_metric is not None:
        ax.plot([8], [int8_metric], marker="*", markersize=14, linestyle="none", color="tab:red",
                label="onnxruntime int8")
    ax.set_xlabel("Bit width of weights and layer outputs")
    ax.set_ylabel(metric_label)
    ax.set_xticks(sorted({int(bits) for bits in ordered["bits"]} | ({8} if int8_metric is not None else set())))
    # the metric rises with the bit width towards the float line, so the lower right corner stays free
    ax.legend(title=model, fontsize="small", loc="lower right")
    return save_figure(fig, out_stem)
