"""The latency figure: one bar per backend and batch size, its length the time per jet in microseconds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rootml.plotting.latency import plot_latency


def test_bars_are_the_time_per_jet_of_each_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Backends in table order on the y axis; per batch size one bar series of 1000 · latency_ms / batch_size µs,
    missing combinations drawn as no bar; a table without latency_ms is rejected; the real call writes png + pdf."""
    table = pd.DataFrame({"backend": ["torch_dense", "torch_dense", "onnxruntime", "onnxruntime", "onnx_int8"],
                          "batch_size": [1, 1024, 1, 1024, 1024],
                          "latency_ms": [0.03, 0.2048, 0.006, 0.0512, 0.04096]})
    written = plot_latency(table, tmp_path / "latency", model="mlp")
    assert sorted(path.name for path in written) == ["latency.pdf", "latency.png"]
    figures = []
    monkeypatch.setattr("rootml.plotting.latency.save_figure", lambda fig, stem: figures.append(fig) or [])
    plot_latency(table, tmp_path / "again", model="mlp")
    ax = figures[0].axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["torch_dense", "onnxruntime", "onnx_int8"]
    batch1, batch1024 = ax.containers
    assert [bar.get_width() for bar in batch1][:2] == pytest.approx([30.0, 6.0])
    assert [bar.get_width() for bar in batch1024] == pytest.approx([0.2, 0.05, 0.04])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["batch 1", "batch 1024"]
    with pytest.raises(ValueError, match="latency_ms"):
        plot_latency(table.drop(columns="latency_ms"), tmp_path / "bad", model="mlp")
