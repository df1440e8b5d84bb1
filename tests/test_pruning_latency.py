"""Latency table: one row per backend, device and batch size, with positive timings and parameter counts."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from rootml.models.registry import build_model
from rootml.pruning.latency import Backend, Timing, latency_table, median_seconds, take_rows
from rootml.pruning.onnx_export import export_onnx
from rootml.pruning.prune import MODULE_TYPES, iterative_prune
from rootml.training.device import DEVICE_VARIABLE

FAST = Timing(warmup=1, repeats=3, budget_s=1.0)


def test_table_rows_and_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dense, pruned and onnxruntime rows at batch 1 and 64 on CPU, with consistent throughput and counts."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    rng = np.random.default_rng(0)
    inputs = {"features": rng.normal(size=(10, 4, 8)).astype(np.float32),
              "mask": np.ones((10, 1, 8), np.float32)}
    dense = build_model("deepsets", {"features": 4}, 3, seed=1, phi_sizes=[16, 16], f_sizes=[16])
    _, pruned = iterative_prune(copy.deepcopy(dense), [0.8], evaluate=lambda m: 0.0, module_types=list(MODULE_TYPES))
    onnx_path = export_onnx(pruned, inputs, tmp_path / "m.onnx", name="ds")
    backends = [Backend("torch_dense", dense), Backend("torch_pruned", pruned),
                Backend("onnxruntime", pruned, onnx_path)]
    table = latency_table("ds", backends, inputs, batch_sizes=(1, 64), timing=FAST)
    assert list(table[["backend", "device", "batch_size"]].itertuples(index=False, name=None)) == [
        (backend, "cpu", batch) for backend in ("torch_dense", "torch_pruned", "onnxruntime") for batch in (1, 64)]
    assert (table["model"] == "ds").all()
    assert (table["latency_ms"] > 0).all()
    np.testing.assert_allclose(table["throughput_per_s"], table["batch_size"] / (table["latency_ms"] / 1e3))
    counts = table.groupby("backend")[["n_parameters", "n_nonzero"]].first()
    assert counts["n_parameters"].nunique() == 1
    assert counts.loc["torch_dense", "n_nonzero"] == counts.loc["torch_dense", "n_parameters"]
    assert counts.loc["torch_pruned", "n_nonzero"] == counts.loc["onnxruntime", "n_nonzero"]
    assert counts.loc["torch_pruned", "n_nonzero"] < 0.4 * counts.loc["torch_dense", "n_parameters"]
    assert next(dense.parameters()).device.type == "cpu"  # timing used copies


def test_take_rows_cycles_through_jets() -> None:
    """A batch larger than the data repeats the rows in order, as float32."""
    batch = take_rows({"highlevel": np.arange(6, dtype=np.float64).reshape(3, 2)}, 7)["highlevel"]
    assert batch.dtype == np.float32 and batch.shape == (7, 2)
    np.testing.assert_array_equal(batch[:, 0], [0, 2, 4, 0, 2, 4, 0])
    with pytest.raises(ValueError, match="no jets"):
        take_rows({"highlevel": np.zeros((0, 2))}, 1)


def test_median_respects_warmup_repeats_and_budget() -> None:
    """Warm-up calls are untimed; the count stops at `repeats`, or at the budget after 3 timed calls."""
    calls = []
    assert median_seconds(lambda: calls.append(1), Timing(warmup=2, repeats=5, budget_s=100.0)) >= 0
    assert len(calls) == 7
    calls.clear()
    median_seconds(lambda: calls.append(1), Timing(warmup=0, repeats=1000, budget_s=0.0))
    assert len(calls) == 3
