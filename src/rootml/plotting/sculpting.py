"""The mass-sculpting figure: the background jet-mass distribution before and after the cut of each tagger at one
signal efficiency, with the Jensen-Shannon divergence to the inclusive distribution in the legend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import mplhep
import numpy as np
from matplotlib.figure import Figure

from rootml.metrics.names import percent
from rootml.metrics.sculpting import clip_to_edges, sculpting_jsd
from rootml.plotting.scores import unit_area
from rootml.plotting.style import save_figure, use_style

FIGURE_INCHES = (8.0, 6.5)


def plot_sculpting(
    values: np.ndarray, weight: np.ndarray, passed: Mapping[str, np.ndarray], out_stem: str | os.PathLike[str], *,
    edges: np.ndarray, efficiency: float, xlabel: str = "Jet mass [GeV]", background_label: str = "background",
) -> list[Path]:
    """Unit-area distribution of `values` of all background jets and of those passing each tagger's cut (name -> mask),
    jets beyond the edges drawn in the edge bins."""
    values = clip_to_edges(np.asarray(values, dtype=np.float64), edges)
    weight = np.asarray(weight, dtype=np.float64)
    if len(values) == 0 or weight.shape != values.shape:
        raise ValueError(f"need background values with one weight each, got {values.shape} and {weight.shape}")
    for name, mask in passed.items():
        if np.shape(mask) != values.shape:
            raise ValueError(f"selection of '{name}' has shape {np.shape(mask)}, expected {values.shape}")
    use_style()
    fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
    ax = fig.subplots()
    density, _ = unit_area((values, weight), edges)
    mplhep.histplot(density, edges, ax=ax, histtype="fill", color="lightgrey", label=f"All {background_label} jets")
    for i, (name, mask) in enumerate(passed.items()):
        if not mask.any():
            continue  # no background jet passes: nothing to draw
        density, error = unit_area((values[mask], weight[mask]), edges)
        jsd = sculpting_jsd(values, weight, mask, edges)
        mplhep.histplot(density, edges, yerr=error, ax=ax, histtype="step", color=f"C{i % 10}", linewidth=2,
                        label=f"{name} (JSD = {jsd:.3f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Fraction of jets / bin width")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, ax.get_ylim()[1] * 1.4)  # headroom for the legend
    ax.legend(title=rf"{background_label}, cut at $\varepsilon_{{\mathrm{{S}}}}$ = {percent(efficiency)}%",
              fontsize="small", title_fontsize="small")
    return save_figure(fig, out_stem)
