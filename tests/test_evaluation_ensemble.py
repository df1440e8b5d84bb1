"""Ensembles of seed copies and MC dropout in the evaluation: the ensemble of noisy toy members is at least as good
as its mean member and has zero spread where the members agree; evaluate_models adds the {entry}_ensemble row,
ECE (raw and calibrated), the per-jet uncertainty columns, tables and every expected figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from rootml.evaluation.captions import expected_figures
from rootml.evaluation.ensemble import build_ensemble
from rootml.evaluation.evaluate import EvaluationFiles, evaluate_models
from rootml.evaluation.results import ResultFiles, load_model_results
from rootml.evaluation.settings import EvaluateSettings
from rootml.metrics.binary import auc
from rootml.training.files import ModelFiles

CLASSES = ["q", "t"]
N_JETS = 600


def truth(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Latent log-odds and labels drawn from them (the same jets for every model)."""
    rng = np.random.default_rng(0 if split == "test" else 1)
    latent = rng.normal(0.0, 2.0, N_JETS)
    return latent, (rng.random(N_JETS) < expit(latent)).astype(np.int64)


def write_member(directory: Path, seed_index: int, noise: float, mc_dropout: int = 0) -> ResultFiles:
    """A seed copy `mlp_s{seed_index}` of entry mlp: P(t) = sigmoid(latent + noise), calibrated columns (T = 2) and,
    with mc_dropout, MC dropout columns of a spread uniform in [0, 0.2]."""
    directory.mkdir(parents=True)
    for split in ("test", "train"):
        latent, label = truth(split)
        rng = np.random.default_rng(10 * seed_index + (split == "train"))
        logit = latent + rng.normal(0.0, noise, N_JETS)
        columns = {"event_id": np.arange(N_JETS), "label": label, "weight": np.ones(N_JETS, np.float32),
                   "score_q": expit(-logit), "score_t": expit(logit), "score_cal_q": expit(-logit / 2),
                   "score_cal_t": expit(logit / 2)}
        if mc_dropout:
            spread = rng.uniform(0.0, 0.2, N_JETS)
            columns |= {"score_mcd_q": expit(-logit), "score_mcd_t": expit(logit), "score_mcd_std_q": spread,
                        "score_mcd_std_t": spread}
        pd.DataFrame(columns).to_parquet(directory / f"predictions_{split}.parquet")
    (directory / "history.json").write_text(json.dumps([{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6}]))
    config = {"name": directory.name, "model": "mlp", "seed_index": seed_index, "family": "mlp",
              "task": "classification", "classes": CLASSES, "training": {"mc_dropout": mc_dropout}}
    (directory / "model_config.json").write_text(json.dumps(config))
    return ResultFiles.of(ModelFiles.of_family(directory, "mlp"))


def test_ensemble_beats_mean_member_and_has_no_spread_when_members_agree(tmp_path: Path) -> None:
    """Three members with independent noise: ensemble AUC >= mean member AUC; identical members: std exactly 0."""
    members = [load_model_results(f"mlp_s{i}", write_member(tmp_path / f"mlp_s{i}", i, 1.5), CLASSES)
               for i in range(3)]
    ensemble = build_ensemble("mlp_ensemble", members, CLASSES, ["t"], ["q"], weighted=False)
    labels = members[0].test["label"].to_numpy() == 1
    member_aucs = [auc(labels, m.test["score_t"].to_numpy()) for m in members]
    assert ensemble.uncertainty.auc >= np.mean(member_aucs) + 0.005
    assert ensemble.uncertainty.spread.mean() > 0.01
    np.testing.assert_allclose(ensemble.result.test["score_t"], np.mean([m.test["score_t"] for m in members], axis=0))
    same = build_ensemble("mlp_ensemble", [members[0], members[0]], CLASSES, ["t"], ["q"], weighted=False)
    assert np.all(same.uncertainty.spread == 0.0)
    assert same.uncertainty.auc == pytest.approx(member_aucs[0])


def test_evaluate_models_with_ensemble_and_mc_dropout(tmp_path: Path) -> None:
    """Rows mlp_s0, mlp_s1 and mlp_ensemble; ECE raw and calibrated (members only); the MC dropout run
    and the ensemble get the uncertainty columns; metrics.md has both tables; every expected figure is written."""
    models = {"mlp_s0": write_member(tmp_path / "models" / "mlp_s0", 0, 1.0, mc_dropout=5),
              "mlp_s1": write_member(tmp_path / "models" / "mlp_s1", 1, 1.0)}
    settings = EvaluateSettings.for_run({"signal": ["t"], "background": ["q"], "n_bootstrap": 5,
                                         "calibration_bins": 10}, CLASSES, [])
    out = EvaluationFiles.in_directory(tmp_path / "evaluation")
    written = evaluate_models(models, CLASSES, settings, 3, out)
    table = pd.read_csv(out.metrics_csv).set_index("model")
    assert list(table.index) == ["mlp_s0", "mlp_s1", "mlp_ensemble"]
    assert table.loc[["mlp_s0", "mlp_s1"], ["ece", "ece_cal", "ece_sb", "ece_sb_cal"]].notna().all().all()
    assert np.isnan(table.loc["mlp_ensemble", "ece_cal"]) and table.loc["mlp_ensemble", "ece"] > 0
    assert table.loc["mlp_ensemble", "uncertainty"] == "ensemble"
    assert table.loc["mlp_ensemble", "uncertainty_samples"] == 2
    assert table.loc["mlp_ensemble", "reference_auc_sb"] == pytest.approx(table.loc[["mlp_s0", "mlp_s1"],
                                                                                    "auc_sb"].mean())
    assert table.loc["mlp_s0", "uncertainty"] == "MC dropout" and table.loc["mlp_s0", "uncertainty_samples"] == 5
    assert table.loc["mlp_s0", "uncertainty_auc_sb"] == pytest.approx(table.loc["mlp_s0", "auc_sb"])
    assert table.loc["mlp_s0", "spread_mean"] == pytest.approx(0.1, abs=0.01)  # one signal class: the std of P(t)
    assert pd.isna(table.loc["mlp_s1", "uncertainty"])
    markdown = out.metrics_md.read_text()
    assert "## Calibration" in markdown and "## Per-jet uncertainty" in markdown
    configs = {name: json.loads(files.config.read_text()) for name, files in models.items()}
    stems = expected_figures(configs, ["t"], ["q"], settings.efficiencies, None, None, classes=CLASSES)
    assert {"calibration_mlp_s0", "calibration_mlp_ensemble", "uncertainty_mlp_ensemble",
            "uncertainty_mlp_s0"} <= set(stems)
    assert "uncertainty_mlp_s1" not in stems and "scores_mlp_ensemble" not in stems
    assert {path.name for path in out.figures.glob("*.png")} == {f"{stem}.png" for stem in stems}
    assert set(written["figures"]) == {out.figures / stem for stem in stems}
