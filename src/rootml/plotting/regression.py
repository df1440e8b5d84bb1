"""The regression figure: residual distribution (prediction - target) of each regression model, and its response
(prediction / target: median and 15.9-84.1% band) in bins of the target."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import mplhep
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rootml.metrics.regression import one_sigma_quantiles
from rootml.metrics.weights import jet_weights
from rootml.plotting.scores import unit_area
from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (8.0, 6.5)
N_RESIDUAL_BINS = 50
N_TARGET_BINS = 10
# Central fraction of the residuals (all models together) and of the targets spanned by the axes.
AXIS_QUANTILES = (0.005, 0.995)


def binned_response(target: np.ndarray, prediction: np.ndarray, weight: np.ndarray,
                    edges: np.ndarray) -> np.ndarray:
    """(3, n_bins) weighted 15.9%, 50% and 84.1% quantiles of prediction / target per target bin (NaN when empty)."""
    # scipy.stats.binned_statistic has no weights; per-bin weighted quantiles come from one_sigma_quantiles instead
    valid = target != 0
    response = prediction[valid] / target[valid]
    bins = np.digitize(target[valid], edges) - 1
    out = np.full((3, len(edges) - 1), np.nan)
    for b in range(len(edges) - 1):
        in_bin = bins == b
        if in_bin.any():
            out[:, b] = one_sigma_quantiles(response[in_bin], weight[valid][in_bin])
    return out


def plot_regression(tables: Mapping[str, pd.DataFrame], out_stem: str | os.PathLike[str], *,
                    target_label: str = "Target", weighted: bool = False) -> list[Path]:
    """Residuals and response vs target of each model (name -> prediction table with prediction, target, weight)."""
    if not tables:
        raise ValueError("no regression tables to plot")
    for name, table in tables.items():
        missing = [c for c in ("prediction", "target", "weight") if c not in table.columns]
        if missing or table.empty:
            raise ValueError(f"regression table of model '{name}' lacks columns {missing} or rows")
    residuals = {name: t["prediction"].to_numpy(np.float64) - t["target"].to_numpy(np.float64)
                 for name, t in tables.items()}
    low, high = np.quantile(np.concatenate(list(residuals.values())), AXIS_QUANTILES)
    bound = max(abs(low), abs(high)) or 1.0
    residual_edges = np.linspace(-bound, bound, N_RESIDUAL_BINS + 1)
    targets = np.concatenate([t["target"].to_numpy(np.float64) for t in tables.values()])
    t_low, t_high = np.quantile(targets, AXIS_QUANTILES)
    target_edges = np.linspace(t_low, t_high if t_high > t_low else t_low + 1.0, N_TARGET_BINS + 1)
    centres = 0.5 * (target_edges[1:] + target_edges[:-1])

    use_style()
    fig = Figure(figsize=(2 * PANEL_INCHES[0], PANEL_INCHES[1]), layout="constrained")
    left, right = fig.subplots(1, 2)
    for i, (name, table) in enumerate(tables.items()):
        color = f"C{i % 10}"
        weight = jet_weights(table, weighted)
        density, error = unit_area((residuals[name], weight), residual_edges)
        mplhep.histplot(density, residual_edges, yerr=error, ax=left, histtype="step", color=color, linewidth=2,
                        label=name)
        low_q, median, high_q = binned_response(table["target"].to_numpy(np.float64),
                                                table["prediction"].to_numpy(np.float64), weight, target_edges)
        right.plot(centres, median, marker="o", color=color, label=name)
        right.fill_between(centres, low_q, high_q, color=color, alpha=0.25, linewidth=0)
    left.axvline(0.0, color="black", linewidth=0.8)
    left.set_xlabel(f"{target_label}: prediction $-$ true")
    left.set_ylabel("Fraction of jets / bin width")
    left.set_xlim(residual_edges[0], residual_edges[-1])
    left.legend(fontsize="small")
    right.axhline(1.0, color="black", linewidth=0.8)
    right.set_xlabel(f"{target_label}: true")
    right.set_ylabel("Response (prediction / true)")
    right.legend(title="median, 15.9-84.1% band", fontsize="small", title_fontsize="small")
    return save_figure(fig, out_stem)
