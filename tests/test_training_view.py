"""Per-model input views: `n_particles` reads the first N (pT-ordered) slots of each set and `features` a subset of
the high-level features, in training, in load_trained/predict and in pruning (with per-class AUCs per sparsity)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb

from conftest import load, prune, split_reader, train
from rootml.errors import ConfigError
from rootml.models.registry import build_model
from rootml.training.device import CPU
from rootml.training.view import InputView
from test_training_data import CLASSES, N_PARTICLES, features_block, write_prepared

CONFIG = {"seed": 5, "classes": CLASSES, "features": features_block("part", "sv"),
          "training": {"epochs": 2, "batch_size": 32, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant"}}
JEDI = {"family": "interaction_net", "n_particles": 6,
        "hparams": {"edge_sizes": [8], "node_sizes": [8], "fc_params": [8]}}
FAST_PRUNING = {"sparsities": [0.5, 0.75], "fine_tune_epochs": 0, "latency_batches": [1, 16], "latency_warmup": 1,
                "latency_repeats": 2, "latency_budget_s": 0.2}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic prepared splits with 12 particle slots (set part), 4 secondary-vertex slots (set sv) and 4 high-level
    features (hl0..hl3)."""
    return write_prepared(tmp_path_factory.mktemp("view"), sets=("part", "sv"))


@pytest.fixture(scope="module")
def jedi(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An interaction network trained on the first 6 of the 12 particle slots."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("jedi")
    train("jedi30", {**JEDI, "sets": ["part"]}, CONFIG, data, out, device=CPU, progress=False)
    return out


@pytest.mark.parametrize("max_jets", [10_000, 50], ids=["in_memory", "streamed"])
def test_reader_slices_particles_and_columns(data: Path, max_jets: int) -> None:
    view = InputView(n_particles=5, features=("hl3", "hl1"))
    full = split_reader(data, "val", ["part", "highlevel"], 10_000)
    narrow = split_reader(data, "val", ["part", "highlevel"], max_jets, view=view)
    keys = ["features", "points", "vectors", "mask", "highlevel"]
    reference = next(full.batches(keys, full.n_rows))
    batch = next(narrow.batches(keys, narrow.n_rows)) if max_jets > narrow.n_rows else {
        key: np.concatenate([b[key] for b in narrow.batches(keys, 16)]) for key in keys}
    for key in ("features", "points", "vectors", "mask"):
        np.testing.assert_array_equal(batch[key], reference[key][..., :5])
    np.testing.assert_array_equal(batch["highlevel"], reference["highlevel"][:, [1, 3]])  # prepared column order
    assert narrow.feature_names["highlevel"] == ["hl1", "hl3"]
    assert narrow.input_dims()["highlevel"] == 2 and narrow.datasets["mask"].shape == (narrow.n_rows, 5)


@pytest.mark.parametrize("max_jets", [10_000, 50], ids=["in_memory", "streamed"])
def test_n_particles_applies_to_each_set(data: Path, max_jets: int) -> None:
    """A model on two sets reads the first n_particles slots of each."""
    full = split_reader(data, "val", ["part", "sv"], 10_000)
    narrow = split_reader(data, "val", ["part", "sv"], max_jets, view=InputView(n_particles=3))
    keys = [f"{name}/{key}" for name in ("part", "sv") for key in ("features", "points", "vectors", "mask")]
    reference = next(full.batches(keys, full.n_rows))
    batch = {key: np.concatenate([b[key] for b in narrow.batches(keys, 16)]) for key in keys}
    for key in keys:
        np.testing.assert_array_equal(batch[key], reference[key][..., :3])
    assert narrow.datasets["sv/mask"].shape == (narrow.n_rows, 3) and narrow.input_dims()["sv/features"] == 3


def test_n_particles_model_equals_model_built_for_sliced_inputs(jedi: Path, data: Path) -> None:
    config = json.loads((jedi / "model_config.json").read_text())
    assert config["n_particles"] == 6 and config["features"] is None
    trained = load(jedi, device=CPU)
    reader = split_reader(data, "test", ["part"], 10_000)
    batch = next(reader.batches(trained.input_keys, reader.n_rows))
    sliced = {key: value[..., :6] for key, value in batch.items() if key in trained.input_keys}
    rebuilt = build_model("interaction_net", config["input_dims"], config["n_outputs"], seed=config["seed"],
                          **config["hparams"])
    rebuilt.load_state_dict(torch.load(jedi / "model.pt", weights_only=True))
    rebuilt.eval()
    with torch.no_grad():
        logits = rebuilt(*[torch.from_numpy(np.ascontiguousarray(sliced[key]).astype(np.float32))
                           for key in rebuilt.input_keys])
    expected = torch.softmax(logits, dim=1).numpy()
    np.testing.assert_allclose(trained.predict(batch), expected, atol=1e-5)  # all 12 slots given: sliced to 6
    np.testing.assert_allclose(trained.predict(sliced), expected, atol=1e-5)
    stored = pd.read_parquet(jedi / "predictions_test.parquet")
    np.testing.assert_allclose(stored[[f"score_{c}" for c in CLASSES]].to_numpy(), expected, atol=1e-5)


def test_features_subset_trains_on_only_those_columns(data: Path, tmp_path: Path) -> None:
    entry = {"family": "bdt", "features": ["hl2", "hl0"], "hparams": {"n_estimators": 10, "max_depth": 2}}
    train("sub", entry, CONFIG, data, tmp_path, device=CPU, progress=False)
    config = json.loads((tmp_path / "model_config.json").read_text())
    assert config["feature_names"] == ["hl0", "hl2"] and config["input_dims"]["highlevel"] == 2
    assert config["highlevel_columns"] == [0, 2]
    booster = xgb.Booster(model_file=str(tmp_path / "model.json"))
    assert booster.num_features() == 2
    trained = load(tmp_path, device=CPU)
    reader = split_reader(data, "test", ["highlevel"], 10_000)
    full = next(reader.batches(["highlevel"], reader.n_rows))["highlevel"]
    scrambled = full.copy()
    scrambled[:, [1, 3]] = np.random.default_rng(0).normal(size=(len(full), 2))  # columns the model must not read
    np.testing.assert_allclose(trained.predict({"highlevel": full}), trained.predict({"highlevel": scrambled}))
    np.testing.assert_allclose(trained.predict({"highlevel": full}), trained.predict({"highlevel": full[:, [0, 2]]}))


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        (JEDI, "models.bad.n_particles", r"6 elements asked for, the prepared data holds 4 "
                                          r"\(features.sets.sv.max_length\)"),
        ({**JEDI, "sets": ["part"], "n_particles": N_PARTICLES + 1}, "models.bad.n_particles",
         r"the prepared data holds 12 \(features.sets.part.max_length\)"),
        ({"family": "mlp", "features": ["hl0", "jet_nope"]}, "models.bad.features", "'jet_nope' is not a prepared"),
        ({"family": "deepsets", "features": ["hl0"]}, "models.bad.features", "applies to models on the highlevel"),
        ({"family": "mlp", "n_particles": 4}, "models.bad.n_particles", "applies to models on the set inputs"),
    ],
    ids=["more_than_a_set", "more_than_the_set", "unknown_feature", "features_of_sets", "n_particles_of_mlp"],
)
def test_view_errors_name_the_key(data: Path, tmp_path: Path, entry: dict, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        train("bad", entry, CONFIG, data, tmp_path, device=CPU, progress=False)
    assert error.value.key == key


def test_pruning_honours_view_and_records_class_aucs(jedi: Path, data: Path, tmp_path: Path) -> None:
    prune(jedi, data, tmp_path, FAST_PRUNING)
    table = pd.read_csv(tmp_path / "pruning.csv")
    assert [f"auc_{c}" for c in CLASSES] == [c for c in table.columns if c.startswith("auc_")]
    dense = json.loads((jedi / "metrics.json").read_text())
    for name in CLASSES:  # the unpruned row is the trained model on the same 6 particles
        assert table[f"auc_{name}"].iloc[0] == pytest.approx(dense[f"auc_{name}"], abs=1e-6)
    assert table[[f"auc_{c}" for c in CLASSES]].notna().all().all() and len(table) == 3
    assert (tmp_path / "plots" / "auc_per_class.png").stat().st_size > 0
    assert (tmp_path / "plots" / "auc_per_class.pdf").is_file()
