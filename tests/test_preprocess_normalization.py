"""Normalization: standard and robust (weaver auto) numbers on known arrays, streaming, skips, clipping, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rootml.errors import ConfigError, InputError
from rootml.preprocess.normalization import FeatureAccumulator, apply_normalization, fit_normalization


def accumulate(values: np.ndarray, names: list[str], blocks: int = 1) -> FeatureAccumulator:
    """An accumulator fed `values` (n, F) in `blocks` pieces, every row kept for the quantiles."""
    acc = FeatureAccumulator(names)
    for piece in np.array_split(values, blocks):
        acc.update(piece, np.ones(len(piece), dtype=bool))
    return acc


def test_standard_is_mean_and_population_std_also_when_streamed() -> None:
    rng = np.random.default_rng(0)
    values = np.stack([rng.normal(3.0, 2.0, 10_001), rng.exponential(5.0, 10_001)], axis=1)
    fitted = fit_normalization(accumulate(values, ["a", "b"], blocks=7), "standard")
    for i, name in enumerate("ab"):
        assert fitted["features"][name]["center"] == pytest.approx(values[:, i].mean(), rel=1e-12)
        assert fitted["features"][name]["scale"] == pytest.approx(values[:, i].std(), rel=1e-10)
    assert fitted["n_entries"] == 10_001


def test_robust_is_median_and_wider_half_of_the_16_84_band() -> None:
    # 0..100: 16th percentile 16, median 50, 84th 84 -> scale 34; squared: 256, 2500, 7056 -> max(4556, 2244)
    values = np.stack([np.arange(101.0), np.arange(101.0) ** 2], axis=1)
    fitted = fit_normalization(accumulate(values, ["lin", "sq"], blocks=3), "robust")
    assert fitted["features"]["lin"] == {"center": 50.0, "scale": 34.0, "normalized": True}
    assert fitted["features"]["sq"] == {"center": 2500.0, "scale": 4556.0, "normalized": True}
    assert fitted["clip"] == 5.0


def test_robust_falls_back_to_the_std_for_a_peaked_feature() -> None:
    values = np.zeros((100, 1))
    values[:5] = 1.0  # 95% zeros: the 16-84% band has zero width
    fitted = fit_normalization(accumulate(values, ["flag"]), "robust")
    assert fitted["features"]["flag"]["center"] == 0.0
    assert fitted["features"]["flag"]["scale"] == pytest.approx(np.sqrt(0.05 * 0.95))


def test_zero_width_feature_is_named() -> None:
    values = np.stack([np.arange(10.0), np.full(10, 3.0)], axis=1)
    for method in ("standard", "robust"):
        with pytest.raises(InputError, match="feature 'const' has zero width") as err:
            fit_normalization(accumulate(values, ["x", "const"]), method, files=["a.h5"])
        assert err.value.branch == "const" and err.value.file == "a.h5"


def test_skipped_patterns_and_method_none_leave_values_raw() -> None:
    values = np.stack([np.arange(10.0), np.full(10, 1.0), np.arange(10.0) % 2], axis=1)
    names = ["part_logpt", "part_charge", "part_isPhoton"]
    fitted = fit_normalization(accumulate(values, names), "robust", skip=["part_charge", "part_is*"])
    assert fitted["features"]["part_logpt"]["normalized"]
    for name in names[1:]:
        assert fitted["features"][name] == {"center": 0.0, "scale": 1.0, "normalized": False}
    none = fit_normalization(accumulate(values, names), "none")
    assert none["clip"] is None and not any(f["normalized"] for f in none["features"].values())
    np.testing.assert_array_equal(apply_normalization(values, names, none), values.astype(np.float32))


def test_apply_centres_scales_clips_and_zeroes_padding() -> None:
    params = {"clip": 5.0, "features": {"x": {"center": 10.0, "scale": 2.0, "normalized": True},
                                        "flag": {"center": 0.0, "scale": 1.0, "normalized": False}}}
    values = np.array([[[12.0, 1.0], [100.0, 9.0], [-50.0, 1.0]]])  # (1 jet, 3 particles, 2 features)
    mask = np.array([[True, True, False]])
    out = apply_normalization(values, ["x", "flag"], params, mask=mask)
    np.testing.assert_array_equal(out, [[[1.0, 1.0], [5.0, 9.0], [0.0, 0.0]]])
    assert out.dtype == np.float32
    with pytest.raises(ConfigError, match="were not fitted"):
        apply_normalization(values, ["x", "other"], params)


def test_unknown_method_and_no_entries() -> None:
    with pytest.raises(ConfigError, match="preprocess.normalization.method"):
        fit_normalization(accumulate(np.ones((3, 1)), ["x"]), "minmax")
    with pytest.raises(InputError, match="no training entries"):
        fit_normalization(FeatureAccumulator(["x"]), "robust", files=["chunk.h5"])
