"""The DisCo trade-off figure (arXiv:2001.05310, R50 vs 1/JSD50): background rejection against the inverse
Jensen-Shannon divergence of the background observable after the cut, one panel per signal efficiency, each run a
point, the runs of a decorrelation group joined by increasing strength and labelled with it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rootml.metrics.names import percent
from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (6.0, 5.0)


def plot_decorrelation(table: pd.DataFrame, others: Mapping[str, Mapping[str, float]], efficiencies: Sequence[float],
                       out_stem: str | os.PathLike[str], *, observable: str = "jet_mass") -> list[Path]:
    """One panel per efficiency: the groups of a decorrelation_table (rows group, model, lambda, rejection_{pct},
    jsd_{pct}) as lines with a λ label at each point, and the other classifiers (name -> their metric row) as lone
    points; runs without a finite positive JSD and rejection are left out."""
    use_style()
    fig = Figure(figsize=(PANEL_INCHES[0] * len(efficiencies), PANEL_INCHES[1]), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(efficiencies)))
    for ax, efficiency in zip(axes, efficiencies):
        rejection, jsd = f"rejection_{percent(efficiency)}", f"jsd_{percent(efficiency)}"
        cut = rf"$\varepsilon_{{\mathrm{{S}}}}$ = {percent(efficiency)}%"
        for i, (group, members) in enumerate(table.groupby("group", sort=False)):
            shown = members[np.isfinite(members[rejection]) & (members[jsd] > 0)]
            ax.plot(1.0 / shown[jsd], shown[rejection], marker="o", color=f"C{i % 10}", label=f"{group} (DisCo)")
            for _, row in shown.iterrows():
                ax.annotate(f"λ={row['lambda']:g}", (1.0 / row[jsd], row[rejection]), textcoords="offset points",
                            xytext=(4, 4), fontsize="x-small", color=f"C{i % 10}")
        n_groups = table["group"].nunique()
        for j, (name, row) in enumerate(others.items()):
            if np.isfinite(row.get(rejection, np.nan)) and row.get(jsd, 0) > 0:
                ax.plot(1.0 / row[jsd], row[rejection], marker="s", linestyle="none", color=f"C{(n_groups + j) % 10}",
                        label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"1 / JSD of the background {observable} at {cut}")
        ax.set_ylabel(rf"Background rejection 1/$\varepsilon_{{\mathrm{{B}}}}$ at {cut}")
        ax.legend(fontsize="x-small")
    return save_figure(fig, out_stem)
