"""evaluate_models end to end on synthetic model directories laid out as the data contract says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from scipy.special import softmax

from rootml.errors import ConfigError, InputError
from rootml.evaluation.captions import expected_figures
from rootml.evaluation.evaluate import EvaluationFiles, evaluate_models
from rootml.evaluation.results import ResultFiles
from rootml.evaluation.settings import EvaluateSettings
from rootml.training.files import ModelFiles

CLASSES = ["g", "q", "W", "Z", "t"]
SIGNAL, BACKGROUND = ["t"], ["g", "q"]
EFFICIENCIES = [0.3, 0.5]
N_TEST, N_TRAIN = 3000, 1500


def bookkeeping(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """event_id, label, weight and observers of n jets of the five classes."""
    label = rng.integers(0, len(CLASSES), n)
    mass = np.where(label >= 2, np.array([0, 0, 80.4, 91.2, 172.8])[label] + rng.normal(0, 10, n),
                    rng.exponential(40, n) + 5)
    return {"event_id": np.arange(n, dtype=np.int64), "label": label.astype(np.int64),
            "weight": rng.uniform(0.5, 1.5, n).astype(np.float32), "obs_jet_pt": rng.uniform(500, 700, n),
            "obs_jet_eta": rng.uniform(-2, 2, n), "obs_jet_mass": mass.astype(np.float32),
            "obs_jet_sdmass": (0.9 * mass).astype(np.float32), "obs_jet_energy": rng.uniform(500, 1500, n)}


def write_model(directory: Path, config: dict, separation: float, seed: int) -> Path:
    """A trained-model directory with the task's prediction columns, history and model_config.json."""
    directory.mkdir(parents=True)
    for split, n in (("test", N_TEST), ("train", N_TRAIN)):
        rng = np.random.default_rng(seed if split == "test" else seed + 1)
        columns = bookkeeping(np.random.default_rng(7 if split == "test" else 8), n)
        label = columns["label"]
        if config["task"] == "classification":
            logits = rng.normal(0, 1, (n, len(CLASSES)))
            logits[np.arange(n), label] += separation
            # the tagger leans on the mass: background jets of high mass look like tops
            logits[:, 4] += 0.02 * (columns["obs_jet_mass"] - 60) * (label < 2)
            probabilities = softmax(logits, axis=1)
            columns.update({f"score_{c}": probabilities[:, i].astype(np.float32) for i, c in enumerate(CLASSES)})
        elif config["task"] == "regression":
            columns["target"] = columns["obs_jet_mass"]
            columns["prediction"] = (1.02 * columns["target"] + rng.normal(0, 8, n)).astype(np.float32)
        else:
            shift = np.isin(label, [2, 3, 4]) * separation
            columns["anomaly_score"] = np.exp(rng.normal(shift, 1.0)).astype(np.float32)
        pd.DataFrame(columns).to_parquet(directory / f"predictions_{split}.parquet")
    epochs = 4
    history = [{"epoch": e, "train_loss": 1.0 / (e + 1), "val_loss": 1.1 / (e + 1),
                "val_accuracy": None if config["task"] == "regression" else 0.5 + 0.05 * e,
                "val_auc": None if config["task"] == "regression" else 0.7 + 0.05 * e,
                "lr": 1e-3 * 0.5**e, "seconds": 1.0} for e in range(epochs)]
    (directory / "history.json").write_text(json.dumps(history))
    (directory / "model_config.json").write_text(json.dumps({"name": directory.name, "model": directory.name,
                                                             "classes": CLASSES, **config}))
    return directory


def files(model_dirs: dict[str, Path]) -> dict[str, ResultFiles]:
    """The evaluated files of each model directory."""
    return {name: ResultFiles.of(ModelFiles.of_family(directory, "mlp")) for name, directory in model_dirs.items()}


def evaluate(model_dirs: dict[str, Path], out: Path, **block) -> dict:
    """evaluate_models on the model directories with the `evaluate` block (t vs g, q unless given) into `out`."""
    settings = EvaluateSettings.for_run({"signal": SIGNAL, "background": BACKGROUND, **block}, CLASSES, ["jet_mass"])
    return evaluate_models(files(model_dirs), CLASSES, settings, 3, EvaluationFiles.in_directory(out))


MODELS = {
    "pnet": ({"family": "particlenet", "task": "classification"}, 3.0),
    "bdt": ({"family": "bdt", "task": "classification"}, 1.5),
    "mreg": ({"family": "mlp", "task": "regression", "target": "jet_mass"}, 0.0),
    "ae": ({"family": "autoencoder", "task": "anomaly", "background": ["g", "q"]}, 1.5),
}


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four synthetic trained models: two classifiers, a regression and an anomaly detector."""
    root = tmp_path_factory.mktemp("models")
    return {name: write_model(root / name, config, separation, seed)
            for seed, (name, (config, separation)) in enumerate(MODELS.items())}


@pytest.fixture(scope="module")
def evaluated(model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """evaluate_models run once on the four models."""
    out = tmp_path_factory.mktemp("evaluation")
    return out, evaluate(model_dirs, out, efficiencies=EFFICIENCIES, n_bootstrap=20,
                         sculpting={"observable": "jet_mass", "range": [0, 250]})


def test_writes_every_expected_figure(evaluated: tuple[Path, dict]) -> None:
    """Every figure expected_figures names is written as non-empty PDF and PNG, no temp files left."""
    out, summary = evaluated
    captions = expected_figures({name: config for name, (config, _) in MODELS.items()}, SIGNAL, BACKGROUND,
                                EFFICIENCIES, classes=CLASSES)
    assert set(summary["figures"]) == {out / "figures" / stem for stem in captions}
    assert set(captions) == {"roc", "roc_per_class", "sculpting_eff30", "sculpting_eff50", "scores_pnet",
                             "confusion_pnet", "scores_bdt", "confusion_bdt", "anomaly_ae", "regression_jet_mass",
                             "calibration_pnet", "calibration_bdt",
                             *(f"training_{name}" for name in MODELS)}
    for stem in summary["figures"]:
        for suffix in (".pdf", ".png"):
            assert Path(f"{stem}{suffix}").stat().st_size > 1000
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    # a regression history has no accuracy or AUC: two panels in one row instead of a 2 x 2 grid
    regression = imread(out / "figures" / "training_mreg.png").shape
    classifier = imread(out / "figures" / "training_pnet.png").shape
    assert regression[1] == classifier[1] and 2 * regression[0] == classifier[0]


def test_metrics_table_ranks_the_better_tagger_first(evaluated: tuple[Path, dict]) -> None:
    """metrics.csv and metrics.md hold the numbers the synthetic models were built with."""
    out, summary = evaluated
    table = pd.read_csv(out / "metrics.csv").set_index("model")
    assert list(table.index) == list(MODELS)
    assert table.loc["pnet", "auc_sb"] > table.loc["bdt", "auc_sb"] > 0.6
    assert table.loc["pnet", "rejection_50"] > table.loc["bdt", "rejection_50"] > 2
    assert 0 < table.loc["pnet", "auc_sb_err"] < 0.05
    assert table.loc["pnet", "accuracy"] > table.loc["bdt", "accuracy"]
    # the synthetic taggers sculpt the background mass; the looser cut sculpts less
    assert table.loc["bdt", "jsd_50"] < table.loc["bdt", "jsd_30"]
    assert table.loc["mreg", "bias"] == pytest.approx(0.02 * 50, abs=3)
    assert table.loc["mreg", "resolution"] == pytest.approx(8, rel=0.3)
    assert table.loc["ae", "auc_sb"] > 0.75 and table.loc["ae", "auc_t"] > 0.75
    # the anomaly detector trained on g, q is cut on too; its score ignores the mass: it sculpts less than the taggers
    assert 0 <= table.loc["ae", "jsd_30"] < table.loc["bdt", "jsd_30"] / 2
    markdown = (out / "metrics.md").read_text()
    for heading in ("## Classification: t vs g, q", "## One-vs-rest AUC per class", "## Regression",
                    "## Anomaly detection"):
        assert heading in markdown
    anomaly_table = markdown.split("## Anomaly detection")[1]
    assert "mass JSD at ε_S = 30%" in anomaly_table and f"{table.loc['ae', 'jsd_30']:.4g}" in anomaly_table
    pnet_auc = f"{table.loc['pnet', 'auc_sb']:.3f}"
    assert pnet_auc in markdown and "±" in markdown
    pd.testing.assert_frame_equal(summary["metrics"].set_index("model"), table, check_dtype=False, atol=1e-12)


def test_bad_options_and_inputs_name_the_key_or_file(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    """Bad options name their config key, bad inputs their file and column; no table is written."""
    pnet = {"pnet": model_dirs["pnet"]}
    with pytest.raises(ConfigError, match="evaluate.signal"):
        evaluate(pnet, tmp_path, signal=["top"])
    with pytest.raises(ConfigError, match="evaluate.background"):
        evaluate(pnet, tmp_path, background=["t", "g"])
    with pytest.raises(ConfigError, match="evaluate.reference_model"):
        evaluate(pnet, tmp_path, reference_model="mreg")
    with pytest.raises(ConfigError, match="evaluate.efficiencies"):
        evaluate(pnet, tmp_path, efficiencies=[1.5])
    broken = tmp_path / "broken"
    write_model(broken, {"family": "mlp", "task": "classification"}, 1.0, 0)
    frame = pd.read_parquet(broken / "predictions_test.parquet")
    frame.loc[3, "score_t"] = np.nan
    frame.to_parquet(broken / "predictions_test.parquet")
    with pytest.raises(InputError, match="score_t.*predictions_test.parquet"):
        evaluate({"broken": broken}, tmp_path)
    with pytest.raises(InputError, match="model_config.json"):
        evaluate({"missing": tmp_path / "nowhere"}, tmp_path)
    assert not (tmp_path / "metrics.csv").exists()
