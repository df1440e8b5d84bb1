"""Evaluation figures: pixel-identical renders of the same inputs, different pixels for different inputs, and the
numbers and checks behind the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images

from rootml.metrics.binary import BinaryScores, RocCurve, roc
from rootml.plotting.anomaly import log_edges
from rootml.plotting.confusion import plot_confusion, row_normalised_confusion
from rootml.plotting.curves import plot_training_curves
from rootml.plotting.regression import binned_response
from rootml.plotting.roc import class_roc_figure, plot_rejection, rejection_band, tagger_styles
from rootml.plotting.scores import ks_pvalue, unit_area


def gaussian_roc(separation: float, n: int = 2000, seed: int = 0) -> RocCurve:
    """ROC of two unit Gaussians `separation` apart."""
    rng = np.random.default_rng(seed)
    is_signal = np.repeat([False, True], n)
    return roc(BinaryScores(is_signal, rng.normal(separation * is_signal, 1.0), np.ones(2 * n), np.arange(2 * n)))


def test_roc_figure_is_reproducible_and_sensitive(tmp_path: Path) -> None:
    """Same curves give identical PDF bytes and PNG pixels; a changed curve changes the pixels."""
    curves = {"strong": gaussian_roc(2.0), "weak": gaussian_roc(1.0)}
    first = plot_rejection(curves, tmp_path / "first", signal_label="t", background_label="g, q")
    second = plot_rejection(curves, tmp_path / "second", signal_label="t", background_label="g, q")
    changed = plot_rejection({**curves, "weak": gaussian_roc(0.8)}, tmp_path / "changed", signal_label="t",
                             background_label="g, q")
    assert [p.suffix for p in first] == [".pdf", ".png"] and all(p.stat().st_size > 1000 for p in first)
    assert first[0].read_bytes() == second[0].read_bytes()  # the PDF carries no date: same figure, same bytes
    assert compare_images(str(first[1]), str(second[1]), tol=0) is None
    assert compare_images(str(first[1]), str(changed[1]), tol=0) is not None
    with pytest.raises(ValueError, match="reference model 'other'"):
        plot_rejection(curves, tmp_path / "bad", reference="other")
    with pytest.raises(ValueError, match="efficiency_range"):
        plot_rejection(curves, tmp_path / "bad", efficiency_range=(0.0, 1.0))


def test_confusion_matrix_rows_by_hand() -> None:
    """Weighted confusion rows sum to one (absent class: zeros); a bad shape is refused."""
    matrix = row_normalised_confusion(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), 3,
                                      np.array([1.0, 3.0, 1.0, 1.0, 2.0]))
    np.testing.assert_allclose(matrix, [[0.25, 0.75, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        plot_confusion(np.array([0, 1]), np.ones((2, 2)), ["g", "q", "t"], "unused")


def test_training_curves_need_epochs() -> None:
    """A history without epochs or without any plotted quantity is refused."""
    with pytest.raises(ValueError, match="epoch"):
        plot_training_curves(pd.DataFrame({"train_loss": [1.0]}), "unused")
    with pytest.raises(ValueError, match="none of the columns"):
        plot_training_curves(pd.DataFrame({"epoch": [0], "seconds": [1.0]}), "unused")


def test_unit_area_and_ks() -> None:
    """Unit-area densities and errors by hand; KS p-value large for equal, tiny for shifted samples."""
    density, error = unit_area((np.array([0.1, 0.1, 0.6, 2.0]), np.array([1.0, 1.0, 2.0, 5.0])),
                               np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(density, [1.0, 1.0])  # jets beyond the axis are dropped; area 1 over width 1
    np.testing.assert_allclose(error, [np.sqrt(2) / 2, 2 / 2])
    rng = np.random.default_rng(1)
    assert ks_pvalue(rng.normal(size=2000), rng.normal(size=2000)) > 0.01
    assert ks_pvalue(rng.normal(size=2000), rng.normal(0.3, 1.0, size=2000)) < 1e-6


def test_binned_response_and_log_edges() -> None:
    """Response quantiles per target bin by hand; logarithmic edges need positive values."""
    target = np.array([10.0, 10.0, 10.0, 30.0, 0.0])
    prediction = np.array([9.0, 10.0, 12.0, 33.0, 5.0])  # the zero target has no response and is left out
    quantiles = binned_response(target, prediction, np.ones(5), np.array([0.0, 20.0, 40.0, 60.0]))
    np.testing.assert_allclose(quantiles[:, 0], [0.9, 1.0, 1.2])
    np.testing.assert_allclose(quantiles[:, 1], [1.1, 1.1, 1.1])
    assert np.isnan(quantiles[:, 2]).all()
    edges = log_edges({"g": (np.array([0.0, 0.01, 0.1, 1.0, 10.0]), np.ones(5))}, n_bins=4)
    assert edges[0] > 0 and np.allclose(np.diff(np.log(edges)), np.log(edges[1] / edges[0]))
    with pytest.raises(ValueError, match="positive"):
        log_edges({"g": (np.zeros(3), np.ones(3))})


def test_seed_copies_share_a_colour_and_one_legend_entry() -> None:
    """Runs of one tagger trained with several seeds: one legend entry naming the count, one colour, thin copies."""
    names = ["bdt_s0", "bdt_s1", "cnn", "bdt_s2"]
    styles = tagger_styles(names, {"bdt_s0": "bdt", "bdt_s1": "bdt", "bdt_s2": "bdt", "cnn": "cnn"})
    assert [styles[name][0] for name in names] == ["bdt (3 trainings)", None, "cnn", None]
    assert styles["bdt_s1"][1] == styles["bdt_s2"][1] == styles["bdt_s0"][1] != styles["cnn"][1]
    assert [styles[name][2] for name in names] == [False, True, False, True]
    assert [label for label, _, _ in tagger_styles(names, None).values()] == names  # no groups: every run its own


@pytest.mark.parametrize("n_classes", [5, 6])
def test_per_class_rocs_share_one_legend(n_classes: int) -> None:
    """One legend for all class panels: in the spare panel of a 2x3 grid with 5 classes, below a full grid."""
    models = {
        "in": gaussian_roc(2.0),
        "mlp": gaussian_roc(1.0),
        "bdt_s0": gaussian_roc(1.5),
        "bdt_s1": gaussian_roc(1.4),
    }
    classes = ["g", "q", "W", "Z", "t", "H"][:n_classes]
    groups = {"in": "in", "mlp": "mlp", "bdt_s0": "bdt", "bdt_s1": "bdt"}
    fig = class_roc_figure({name: models for name in classes}, groups=groups)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + fig.legends
    assert len(legends) == 1
    assert [text.get_text() for text in legends[0].get_texts()] == ["in", "mlp", "bdt (2 trainings)", "Random"]
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in panels] == [f"{name} vs rest" for name in classes]
    assert (len(fig.legends) == 1) == (n_classes == 6)


def test_rejection_band_stays_positive_where_few_background_jets_pass() -> None:
    """The band is eps_B +- sigma through 1/x: positive below, capped at the background count above."""
    n_background = 1000.0
    eps = np.array([0.1, 0.01, 1 / n_background])
    sigma = np.sqrt(eps * (1 - eps) / n_background)
    rejection, error = 1 / eps, sigma / eps**2  # as rejection_at gives them
    lower, upper = rejection_band(rejection, error, n_background)
    np.testing.assert_allclose(lower, 1 / (eps + sigma))
    np.testing.assert_allclose(upper[:2], 1 / (eps - sigma)[:2])
    assert upper[2] == n_background and 0 < lower[2] < rejection[2]  # one jet passes: sigma ~ eps_B
    assert (rejection - error)[2] < 1e-3 * rejection[2] < lower[2]  # a symmetric band fell three decades there
