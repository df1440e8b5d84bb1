"""The detector-response figure (rootml.plotting.response): its numbers and its files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rootml.plotting.response import plot_response, response_stats


def test_response_stats_of_a_gaussian_with_tails() -> None:
    rng = np.random.default_rng(0)
    ratio = np.concatenate([rng.normal(0.95, 0.04, 9000), rng.uniform(0.3, 0.6, 1000)])
    stats = response_stats(ratio)
    assert stats["median"] == pytest.approx(0.945, abs=0.005)
    assert stats["mean"] < 0.92  # the low tail pulls the mean, not the median
    assert stats["resolution"] < 0.06 < stats["std"]


def test_plot_response_writes_png_and_pdf(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ratios = {q: {"top": rng.normal(1.0, 0.05, 200), "QCD": rng.normal(0.9, 0.1, 200)} for q in ("pt", "mass")}
    written = plot_response(ratios, tmp_path / "response", title="test")
    assert [p.suffix for p in written] == [".pdf", ".png"] and all(p.stat().st_size > 1000 for p in written)
    with pytest.raises(ValueError, match="no response"):
        plot_response({"pt": {}}, tmp_path / "empty")
