"""DisCo groups: runs equal but for training.decorrelation are grouped by increasing lambda, others stay apart; the
summary table and the trade-off figure come from the evaluation's metrics, and the caption exists exactly then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rootml.config import model_run
from rootml.evaluation.captions import expected_figures
from rootml.evaluation.decorrelation import (
    decorrelation_figure,
    decorrelation_groups,
    decorrelation_table,
    render_decorrelation,
)

CONFIG = {"seed": 1, "classes": ["q", "t"]}
MLP = {"family": "mlp", "hparams": {"hidden": [16, 16]}}
ENTRIES = {
    "mlp": MLP,
    "disco_strong": {**MLP, "training": {"decorrelation": {"strength": 10.0}}},
    "disco_weak": {**MLP, "training": {"decorrelation": {"strength": 1.0}}},
    "wide": {"family": "mlp", "hparams": {"hidden": [32]}},  # other hyper-parameters: not in the group
    "slow": {**MLP, "training": {"lr": 0.0001, "decorrelation": {"strength": 2.0}}},  # other lr: its own group
    "mass": {"family": "mlp", "task": "regression", "target": "jet_mass", "hparams": {"hidden": [16]}},
}
RUNS = {name: model_run(name, entry, CONFIG).as_dict() for name, entry in ENTRIES.items()}
METRICS = pd.DataFrame({
    "model": list(RUNS), "auc_sb": [0.95, 0.80, 0.90, 0.94, 0.85, np.nan],
    "rejection_30": [100.0, 20.0, 50.0, 90.0, 30.0, np.nan], "jsd_30": [0.5, 0.01, 0.1, 0.4, 0.05, np.nan],
    "rejection_50": [30.0, 8.0, 15.0, 28.0, 10.0, np.nan], "jsd_50": [0.3, 0.005, 0.05, 0.2, 0.03, np.nan]})


def test_groups_by_everything_but_the_decorrelation() -> None:
    """mlp with its two DisCo copies by lambda; `slow` alone (another lr); `wide` and the regression in none."""
    assert decorrelation_groups(RUNS) == [["mlp", "disco_weak", "disco_strong"], ["slow"]]
    two_seeds = {f"{name}_s{i}": {**run, "seed_index": i} for name, run in RUNS.items() for i in (0, 1)}
    assert ["mlp_s1", "disco_weak_s1", "disco_strong_s1"] in decorrelation_groups(two_seeds)


def test_table_and_summary_section() -> None:
    """lambda, AUC, rejection and JSD of each member from the metrics; the section's header and a row."""
    table = decorrelation_table(RUNS, METRICS, [0.3, 0.5])
    assert table["model"].tolist() == ["mlp", "disco_weak", "disco_strong", "slow"]
    assert table["lambda"].tolist() == [0.0, 1.0, 10.0, 2.0]
    assert table["group"].tolist() == ["mlp", "mlp", "mlp", "slow"]
    assert table.loc[2, ["auc_sb", "rejection_30", "jsd_30", "rejection_50", "jsd_50"]].tolist() == [
        0.8, 20.0, 0.01, 8.0, 0.005]
    lines = render_decorrelation(table)
    assert lines[0] == "## Mass decorrelation"
    text = "\n".join(lines)
    assert "JSD at ε_S = 50%" in text and "1/ε_B at ε_S = 30%" in text
    assert "|mlp|disco_strong|10|0.8|20|0.01|8|0.005|" in text.replace(" ", "").splitlines()
    assert render_decorrelation(decorrelation_table({"mlp": RUNS["mlp"]}, METRICS, [0.3])) == []


def test_figure_and_caption(tmp_path: Path) -> None:
    """The figure is written (PDF, PNG) and captioned when a classifier is decorrelated, and neither otherwise."""
    rows = {row["model"]: row for row in METRICS.to_dict("records")}
    written = decorrelation_figure(RUNS, rows, [0.3, 0.5], "jet_mass", tmp_path)
    assert sorted(path.name for path in written) == ["decorrelation.pdf", "decorrelation.png"]
    assert all(path.stat().st_size > 1000 for path in written)
    assert "decorrelation" in expected_figures(RUNS, ["t"], ["q"], [0.3, 0.5], sculpting_observable="jet_mass")
    plain = {name: RUNS[name] for name in ("mlp", "wide")}
    assert decorrelation_figure(plain, rows, [0.3], "jet_mass", tmp_path / "none") == []
    assert "decorrelation" not in expected_figures(plain, ["t"], ["q"], [0.3], sculpting_observable="jet_mass")
    assert "decorrelation" not in expected_figures(RUNS, ["t"], ["q"], [0.3], sculpting_observable=None)
