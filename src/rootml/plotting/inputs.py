"""Input-distribution figures of a prepared split: every high-level feature and every feature of each set per class,
and the average image per class."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import h5py
import hist
import mplhep
import numpy as np
from matplotlib.figure import Figure

from rootml.features.available import PART
from rootml.plotting.images import plot_average_images
from rootml.plotting.style import save_figure, use_style
from rootml.preprocess.layout import HIGHLEVEL, IMAGES

# Rows read from the split: the prepared rows are shuffled, so the first rows are a random subset.
MAX_JETS = 100_000
N_BINS = 40
# Central fraction of all entries the axis of a continuous feature spans; the rest is put in the edge bins.
QUANTILE_RANGE = (0.005, 0.995)
FEATURE_LABELS: dict[str, str] = {
    "jet_pt": r"Jet $p_{\mathrm{T}}$ [GeV]", "jet_eta": r"Jet $\eta$", "jet_mass": "Jet mass [GeV]",
    "jet_sdmass": r"Soft-drop mass $m_{\mathrm{SD}}$ [GeV]", "jet_energy": "Jet energy [GeV]",
    **{f"jet_tau{n}": rf"$\tau_{{{n}}}$" for n in range(1, 5)},
    "jet_tau21": r"$\tau_{21} = \tau_2 / \tau_1$", "jet_tau32": r"$\tau_{32} = \tau_3 / \tau_2$",
    **{f"jet_c2_b{b}": rf"$C_2^{{(\beta={b})}}$" for b in (1, 2)},
    **{f"jet_d2_b{b}": rf"$D_2^{{(\beta={b})}}$" for b in (1, 2)},
    "jet_nparticles": "Number of constituents", "jet_ptd": r"$p_{\mathrm{T}}D$", "jet_girth": "Girth $g$",
    "part_deta": r"Particle $\Delta\eta$ to the jet axis", "part_dphi": r"Particle $\Delta\phi$ to the jet axis",
    "part_logpt": r"Particle $\log(p_{\mathrm{T}} / \mathrm{GeV})$", "part_loge": r"Particle $\log(E / \mathrm{GeV})$",
    "part_logptrel": r"Particle $\log(p_{\mathrm{T}} / p_{\mathrm{T}}^{\mathrm{jet}})$",
    "part_logerel": r"Particle $\log(E / E^{\mathrm{jet}})$", "part_deltaR": r"Particle $\Delta R$ to the jet axis",
    "part_charge": "Particle charge", "part_isChargedHadron": "Charged hadron flag",
    "part_isNeutralHadron": "Neutral hadron flag", "part_isPhoton": "Photon flag", "part_isElectron": "Electron flag",
    "part_isMuon": "Muon flag",
}


def feature_edges(values: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Bin edges: unit bins centred on the integers for integer-valued features, else the central quantile range."""
    if len(values) and np.array_equal(values, np.round(values)):
        lo, hi = float(values.min()), float(values.max())
        width = max(1.0, np.ceil((hi - lo + 1) / n_bins))
        return np.arange(lo - 0.5, hi + 0.5 + width, width)
    lo, hi = np.quantile(values, QUANTILE_RANGE) if len(values) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n_bins + 1)


def plot_feature(per_class: Mapping[str, np.ndarray], xlabel: str, ylabel: str,
                 out_stem: str | os.PathLike[str]) -> list[Path]:
    """One feature's distribution per class, each normalised to unit sum, entries beyond the axis in the edge bins."""
    use_style()
    edges = feature_edges(np.concatenate(list(per_class.values())))
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax = fig.subplots()
    peak = 0.0
    for name, values in per_class.items():
        if len(values) == 0:
            continue
        histogram = hist.Hist(hist.axis.Variable(edges), storage=hist.storage.Double())
        histogram.fill(np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf)))
        fractions = histogram.values() / len(values)
        peak = max(peak, float(fractions.max()))
        mplhep.histplot(fractions, edges, ax=ax, label=f"{name} ({len(values)})", histtype="step", linewidth=1.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, 1.35 * peak if peak > 0 else 1.0)  # headroom for the legend
    ax.legend(title="class (entries)", fontsize="small", title_fontsize="small")
    return save_figure(fig, out_stem)


def _label(name: str, normalization: Mapping[str, Mapping[str, object]]) -> str:
    """Axis label of a feature, marked when the plotted values are normalised."""
    label = FEATURE_LABELS.get(name, name.replace("_", " "))
    return f"{label} (normalised)" if normalization.get(name, {}).get("normalized") else label


def _plot_set(path: str | os.PathLike[str], out_dir: Path, max_jets: int) -> list[Path]:
    """Per-class figures of every feature of one set's prepared file, over its real elements, as the models see them."""
    written = []
    with h5py.File(path, "r") as h5:
        classes = json.loads(h5.attrs["classes"])
        normalization = json.loads(h5.attrs["normalization"])["features"]
        name = h5.attrs.get("set", PART)
        ylabel = "Fraction of particles / bin" if name == PART else f"Fraction of {name} elements / bin"
        labels = h5["label"][:max_jets]
        mask = h5["mask"][:max_jets]
        features = h5["features"][:max_jets]
        element_labels = np.broadcast_to(labels[:, None], mask.shape)[mask]
        for i, feature in enumerate(json.loads(h5.attrs["feature_names"])):
            values = features[:, i][mask]
            per_class = {c: values[element_labels == k] for k, c in enumerate(classes)}
            written += plot_feature(per_class, _label(feature, normalization), ylabel, out_dir / feature)
    return written


def plot_inputs(prepared: Mapping[str, str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                images_stem: str | os.PathLike[str] | None, *, max_jets: int = MAX_JETS) -> list[Path]:
    """Per-class figures of every feature of a prepared split (prepared: representation -> file, as
    rootml.preprocess.layout.representations names them; high-level raw, set features as the models see them) in
    out_dir/{feature}.pdf/png, and with images the average image per class at images_stem.pdf/png."""
    written = []
    with h5py.File(prepared[HIGHLEVEL], "r") as h5:
        classes = json.loads(h5.attrs["classes"])
        labels = h5["label"][:max_jets]
        raw = h5["highlevel_raw"][:max_jets]
        for i, name in enumerate(json.loads(h5.attrs["feature_names"])):
            per_class = {c: raw[labels == k, i] for k, c in enumerate(classes)}
            written += plot_feature(per_class, _label(name, {}), "Fraction of jets / bin", Path(out_dir) / name)
    for representation, path in prepared.items():
        if representation not in (HIGHLEVEL, IMAGES):
            written += _plot_set(path, Path(out_dir), max_jets)
    if IMAGES in prepared:
        if images_stem is None:
            raise ValueError("a prepared images file needs images_stem, where its figure goes")
        with h5py.File(prepared[IMAGES], "r") as h5:
            written += plot_average_images(h5["image"][:max_jets], h5["label"][:max_jets], classes, images_stem,
                                           extent=float(h5.attrs["extent"]))
    return written
