"""prune_model end to end: a model trained on prepared files -> pruning table, pruned weights, ONNX, latency."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch

from conftest import prune, train
from rootml.errors import ConfigError
from rootml.models.registry import build_model
from rootml.pruning.run import StructuredFiles, load_structured
from rootml.training.device import DEVICE_VARIABLE
from rootml.training.trainer import FitSetup, fit

CLASSES = ["q", "t"]
N_SLOTS, N_FEATURES, N_HIGHLEVEL = 12, 4, 5
N_SV_SLOTS, N_SV_FEATURES = 5, 2
OBSERVERS = ("jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy")
FAST = {"latency_batches": [1, 32], "latency_warmup": 1, "latency_repeats": 3, "latency_budget_s": 0.2}
SETS = {"part": (N_FEATURES, N_SLOTS), "sv": (N_SV_FEATURES, N_SV_SLOTS)}  # set -> features, slots
CONFIG = {"seed": 5, "classes": CLASSES,
          "features": {"sets": {name: {"features": [f"{name}_{i}" for i in range(n_features)], "max_length": slots,
                                       "coordinates": [f"{name}_deta", f"{name}_dphi"]}
                                for name, (n_features, slots) in SETS.items()}},
          "training": {"epochs": 3, "batch_size": 64, "lr": 0.005, "num_threads": 1}}
DEEPSETS = {"family": "deepsets", "hparams": {"phi_sizes": [32, 32], "f_sizes": [32]}}


def set_arrays(rng: np.random.Generator, label: np.ndarray, n_features: int, slots: int) -> dict[str, np.ndarray]:
    """features (class 1 shifted up), points, vectors and mask of one set."""
    n = len(label)
    mask = np.arange(slots)[None, :] < rng.integers(min(3, slots), slots + 1, n)[:, None]
    features = (rng.normal(size=(n, n_features, slots)) + 0.8 * label[:, None, None]) * mask[:, None, :]
    return {"features": features.astype(np.float32), "mask": mask,
            "points": (rng.normal(0, 0.3, (n, 2, slots)) * mask[:, None, :]).astype(np.float32),
            "vectors": (rng.uniform(1, 50, (n, 4, slots)) * mask[:, None, :]).astype(np.float32)}


def write_split(data_dir: Path, split: str, n: int, seed: int) -> None:
    """part.h5, sv.h5 and highlevel.h5 of one split as the prepare stage writes them; class 1 is shifted up."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 2
    part = set_arrays(rng, label, N_FEATURES, N_SLOTS)
    common = {"label": label.astype(np.int64), "weight": np.ones(n, np.float32),
              "event_id": np.arange(n, dtype=np.int64) + 10_000 * seed,
              **{f"obs_{name}": rng.uniform(10, 600, n).astype(np.float32) for name in OBSERVERS}}
    files = {
        "part": part,
        "highlevel": {"highlevel": (rng.normal(size=(n, N_HIGHLEVEL)) + 0.8 * label[:, None]).astype(np.float32)},
        "sv": set_arrays(rng, label, N_SV_FEATURES, N_SV_SLOTS),
    }
    (data_dir / split).mkdir(parents=True, exist_ok=True)
    for representation, datasets in files.items():
        with h5py.File(data_dir / split / f"{representation}.h5", "w") as h5:
            for key, values in {**common, **datasets}.items():
                h5.create_dataset(key, data=values, chunks=(min(n, 64), *values.shape[1:]), compression="gzip")
            h5.attrs["classes"] = json.dumps(CLASSES)
            h5.attrs["split"] = split
            names = CONFIG["features"]["sets"][representation]["features"] if representation in SETS else [
                f"jet_{i}" for i in range(N_HIGHLEVEL)]
            h5.attrs["feature_names"] = json.dumps(names)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Prepared data and a Deep Sets classifier trained on set part for 3 epochs (CPU)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        root = tmp_path_factory.mktemp("prune_run")
        for seed, (split, n) in enumerate((("train", 600), ("val", 200), ("test", 200))):
            write_split(root / "prepared", split, n, seed)
        train("ds", {**DEEPSETS, "sets": ["part"]}, CONFIG, root / "prepared", root / "models" / "ds", progress=False)
    return root / "prepared", root / "models" / "ds"


def test_prune_model_writes_every_output(trained: tuple[Path, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Table at each measured sparsity of both methods, pruned weights with their zeros, the smaller structured
    model, ONNX files agreeing with them, latency rows of every backend."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained
    out = tmp_path / "prune"
    prune(model_dir, data_dir, out, {"methods": ["magnitude", "structured"], "sparsities": [0.5, 0.8],
                                     "structured_sparsities": [0.5], "fine_tune_epochs": 1, **FAST})
    assert sorted(p.name for p in out.iterdir()) == [
        "latency.csv", "model.onnx", "model_pruned.pt", "plots", "pruning.csv", "pruning.json", "structured"]
    assert sorted(p.name for p in (out / "structured").iterdir()) == ["model.onnx", "model.pt", "units.json"]
    assert {"latency.png", "latency.pdf"} <= {p.name for p in (out / "plots").iterdir()}

    table = pd.read_csv(out / "pruning.csv")
    assert list(table["method"]) == ["magnitude"] * 3 + ["structured"] * 2
    assert list(table["target_sparsity"]) == [0.0, 0.5, 0.8, 0.0, 0.5]
    magnitude = table[table["method"] == "magnitude"]
    assert np.all(np.abs(magnitude["sparsity"] - magnitude["target_sparsity"]) < 0.01)
    assert table["metric"].iloc[0] == pytest.approx(json.loads((model_dir / "metrics.json").read_text())["auc"])
    assert table["metric"].iloc[3] == table["metric"].iloc[0]  # both methods start from the trained model
    assert table["metric"].min() > 0.75  # the classes are separable; fine-tuned pruned models still see it
    summary = json.loads((out / "pruning.json").read_text())
    assert summary["metric"] == "auc" and summary["task"] == "classification"
    assert summary["onnx_max_abs_diff"] <= 1e-4
    assert [step["sparsity"] for step in summary["steps"]] == list(table["sparsity"])
    assert summary["settings"]["methods"] == ["magnitude", "structured"]

    # Deep Sets: phi's first layer (32 -> 16 units) and F's hidden layer (32 -> 16) shrink, the rest cannot
    structured = summary["structured"]
    assert structured["layers"] == ["phi.0", "f.0"] and "transpose" in structured["whole_layers"]["phi.2"]
    assert structured["kept_units"] == {"phi.0": 16, "f.0": 16} and structured["skipped"] is None
    assert structured["surgery_max_abs_diff"] <= 1e-5 and structured["onnx_max_abs_diff"] <= 1e-4
    small = load_structured(model_dir / "model_config.json", StructuredFiles.in_directory(out / "structured"))
    assert small.phi[0].out_features == 16 and small.phi[2].in_features == 16 and small.f[2].in_features == 16
    n_small = sum(p.numel() for p in small.parameters())
    assert table["n_parameters"].iloc[-1] == n_small < table["n_parameters"].iloc[0]
    weights = 4 * 16 + 16 * 32 + 32 * 16 + 16 * 2  # the Linear weights left, of 4*32 + 32*32 + 32*32 + 32*2
    assert table["sparsity"].iloc[-1] == pytest.approx(1 - weights / (4 * 32 + 2 * 32 * 32 + 32 * 2))
    with h5py.File(data_dir / "test" / "part.h5") as h5:
        part = {"features": h5["features"][:9], "mask": h5["mask"][:9][:, None, :].astype(np.float32)}
    got = ort.InferenceSession(out / "structured" / "model.onnx").run(None, part)[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, small(*(torch.from_numpy(part[k]) for k in ("features", "mask"))).numpy(),
                                   atol=1e-4)

    model_config = json.loads((model_dir / "model_config.json").read_text())
    model = build_model("deepsets", model_config["input_dims"], 2, **model_config["hparams"])
    model.load_state_dict(torch.load(out / "model_pruned.pt", weights_only=True))
    linear = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)])
    assert float((linear == 0).float().mean()) == pytest.approx(magnitude["sparsity"].iloc[-1])
    with h5py.File(data_dir / "test" / "part.h5") as h5:
        features, mask = h5["features"][:9], h5["mask"][:9][:, None, :].astype(np.float32)
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(features), torch.from_numpy(mask)).numpy()
    got = ort.InferenceSession(out / "model.onnx").run(None, {"features": features, "mask": mask})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)

    latency = pd.read_csv(out / "latency.csv")
    backends = ("onnxruntime", "onnxruntime_structured", "torch_dense", "torch_pruned", "torch_structured")
    assert sorted(set(zip(latency["backend"], latency["batch_size"]))) == [
        (backend, batch) for backend in backends for batch in (1, 32)]
    assert (latency["latency_ms"] > 0).all() and (latency["device"] == "cpu").all()
    nonzero = latency.groupby("backend")["n_nonzero"].first()
    assert nonzero["torch_pruned"] == nonzero["onnxruntime"] < 0.5 * nonzero["torch_dense"]
    sizes = latency.groupby("backend")["n_parameters"].first()
    assert sizes["torch_structured"] == sizes["onnxruntime_structured"] == n_small < sizes["torch_dense"]


def test_without_fine_tuning_and_bad_settings(trained: tuple[Path, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """fine_tune_epochs 0 prunes without training; unknown keys or metrics raise ConfigError naming them."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained
    prune(model_dir, data_dir, tmp_path / "plain", {"methods": ["magnitude", "structured"], "sparsities": [0.6],
                                                    "fine_tune_epochs": 0, "metric": "accuracy", **FAST})
    table = pd.read_csv(tmp_path / "plain" / "pruning.csv").set_index(["method", "target_sparsity"])
    assert abs(table.loc[("magnitude", 0.6), "sparsity"] - 0.6) < 0.01
    assert 0.0 < table.loc[("magnitude", 0.6), "metric"] <= 1.0
    assert 0.0 < table.loc[("structured", 0.75), "metric"] <= 1.0
    with pytest.raises(ConfigError, match="pruning.sparsity"):
        prune(model_dir, data_dir, tmp_path / "bad", {"sparsity": [0.5]})
    with pytest.raises(ConfigError, match="pruning.methods.*must include magnitude"):
        prune(model_dir, data_dir, tmp_path / "bad", {"methods": ["structured"]})
    with pytest.raises(ConfigError, match="pruning.structured_sparsities"):
        prune(model_dir, data_dir, tmp_path / "bad", {"methods": ["magnitude", "structured"],
                                                      "structured_sparsities": [0.5, 0.25]})
    with pytest.raises(ConfigError, match="'resolution' is not a metric of a classification model"):
        prune(model_dir, data_dir, tmp_path / "bad", {"metric": "resolution", "fine_tune_epochs": 0, **FAST})


def test_two_set_model_prunes_exports_and_times(trained: tuple[Path, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A Deep Sets model on the sets part and sv is fine-tuned while pruned, exported with inputs <set>/<name> that
    agree with torch on the prepared jets, and timed; structured pruning is skipped (forward(*tensors) cannot be
    traced), with the reason in pruning.json and no file in structured/."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir = trained[0]
    model_dir = tmp_path / "ds2"
    train("ds2", {**DEEPSETS, "training": {"epochs": 2}}, CONFIG, data_dir, model_dir, progress=False)
    out = tmp_path / "prune"
    prune(model_dir, data_dir, out, {"methods": ["magnitude", "structured"], "sparsities": [0.5],
                                     "fine_tune_epochs": 1, **FAST})
    table = pd.read_csv(out / "pruning.csv")
    assert list(table["target_sparsity"]) == [0.0, 0.5] and table["metric"].min() > 0.75
    summary = json.loads((out / "pruning.json").read_text())
    assert summary["onnx_max_abs_diff"] <= 1e-4
    assert "torch.fx cannot trace MultiSetModel" in summary["structured"]["skipped"]
    assert not list((out / "structured").iterdir())
    session = ort.InferenceSession(out / "model.onnx")
    names = ["part/features", "part/mask", "sv/features", "sv/mask"]
    assert [node.name for node in session.get_inputs()] == names
    assert [node.shape[2] for node in session.get_inputs()] == ["particles_part"] * 2 + ["particles_sv"] * 2
    model_config = json.loads((model_dir / "model_config.json").read_text())
    assert model_config["sets"] == model_config["representations"] == ["part", "sv"]
    model = build_model("deepsets", model_config["input_dims"], 2, **model_config["hparams"])
    model.load_state_dict(torch.load(out / "model_pruned.pt", weights_only=True))
    inputs = {}
    for name in SETS:
        with h5py.File(data_dir / "test" / f"{name}.h5") as h5:
            inputs.update({f"{name}/features": h5["features"][:9],
                           f"{name}/mask": h5["mask"][:9][:, None, :].astype(np.float32)})
    with torch.no_grad():
        expected = model.eval()(*(torch.from_numpy(inputs[key]) for key in names)).numpy()
    np.testing.assert_allclose(session.run(None, inputs)[0], expected, atol=1e-4)
    latency = pd.read_csv(out / "latency.csv")
    assert set(latency["backend"]) == {"onnxruntime", "torch_dense", "torch_pruned"}
    assert (latency["latency_ms"] > 0).all()


def test_fine_tuning_settings_reach_the_trainer(trained: tuple[Path, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """fine_tune_epochs caps, fine_tune_patience stops early, l1 adds lambda * sum |w| to the trainer's loss (the
    weights come out much smaller), rewind: trained puts the trained survivors back before each fine-tuning."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained
    trained_state = torch.load(model_dir / "model.pt", weights_only=True)
    seen = []

    def spy(model: torch.nn.Module, setup: FitSetup) -> object:
        """Record the setup and whether the survivors hold their trained values, then train for real."""
        layer = model.phi[0]
        survivors = layer.weight_mask.bool()
        rewound = torch.equal(layer.weight_orig[survivors], trained_state["phi.0.weight"][survivors])
        seen.append((setup.settings.epochs, setup.settings.patience, setup.penalty, rewound))
        return fit(model, setup)

    monkeypatch.setattr("rootml.pruning.run.fit", spy)
    block = {"methods": ["magnitude"], "sparsities": [0.3, 0.6], "fine_tune_epochs": 4, **FAST}
    prune(model_dir, data_dir, tmp_path / "plain", block)
    prune(model_dir, data_dir, tmp_path / "l1", {**block, "l1": 0.02, "fine_tune_patience": 2, "rewind": "trained"})
    assert [(epochs, patience, penalty is None) for epochs, patience, penalty, _ in seen] == [
        (4, 4, True), (4, 4, True), (4, 2, False), (4, 2, False)]
    assert [rewound for *_, rewound in seen] == [True, False, True, True]  # step 2 plain goes on from step 1
    model = build_model("deepsets", {"features": N_FEATURES}, 2, **DEEPSETS["hparams"])
    penalty = seen[-1][2](model)
    expected = 0.02 * sum(m.weight.abs().sum() for m in model.modules() if isinstance(m, torch.nn.Linear))
    torch.testing.assert_close(penalty, expected)

    def l1_norm(path: Path) -> float:
        """sum |w| of the Linear weights of a saved state_dict."""
        state = torch.load(path, weights_only=True)
        return float(sum(value.abs().sum() for key, value in state.items() if key.endswith("weight")))

    assert l1_norm(tmp_path / "l1" / "model_pruned.pt") < 0.8 * l1_norm(tmp_path / "plain" / "model_pruned.pt")
    assert json.loads((tmp_path / "l1" / "pruning.json").read_text())["settings"]["l1"] == 0.02
