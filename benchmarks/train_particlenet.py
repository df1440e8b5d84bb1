"""ParticleNet training throughput and accuracy: rootml's particlenet vs weaver-core's ParticleNet.

Run: .venv/bin/python benchmarks/train_particlenet.py [--jets 4000] [--particles 48] [--epochs 3] [--threads 1]
Both models get the same tensors (weaver layout), the same hyper-parameters (k, EdgeConv channels, fusion, dense
head, dropout), the same batches in the same order and the same AdamW loop, one step of each model in turn;
weaver runs with its defaults (input BatchNorm, sequence trimming) and once without trimming. The jets are
synthetic one- vs two-prong clouds.
Prints training jets/s, test AUC after the same epochs, and the ratio rootml / weaver (goal >= 1.2 at equal AUC).
Also times rootml's full trainer (train_model on the same jets written as prepared HDF5 files).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from weaver.nn.model.ParticleNet import ParticleNet as WeaverParticleNet

from rootml.config import model_run
from rootml.models.registry import build_model
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.device import CPU
from rootml.training.files import ModelFiles
from rootml.training.run import train_model

K, CONV, FC, DROPOUT, BATCH, LR = 16, [[32, 32, 32], [64, 64, 64]], [128], 0.1, 128, 1e-3
N_FEATURES = 7


def synthetic_jets(n_jets: int, n: int, seed: int) -> dict[str, np.ndarray]:
    """One-prong (label 0) and two-prong (label 1) particle clouds with (deta, dphi), log pt, log E, ... features."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n_jets)
    counts = np.clip(rng.normal(0.6 * n, 0.2 * n, n_jets).round().astype(int), 5, n)
    mask = np.arange(n)[None, :] < counts[:, None]
    angle = rng.uniform(0, 2 * np.pi, n_jets)
    offset = rng.uniform(0.15, 0.5, n_jets)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    second = (rng.random((n_jets, n)) < 0.35) & (label == 1)[:, None]
    points = rng.normal(0.0, 0.1, (n_jets, n, 2)) + second[:, :, None] * offset[:, None, :]
    pt = rng.exponential(1.0, (n_jets, n)) * np.where(second, 0.8, 1.0)
    log_pt = np.log(pt + 1e-3)
    delta_r = np.linalg.norm(points, axis=-1)
    features = np.stack([points[..., 0], points[..., 1], log_pt, log_pt + delta_r, delta_r,
                         log_pt - np.log(pt.sum(axis=1, keepdims=True)), rng.integers(-1, 2, (n_jets, n))], axis=1)
    return {"label": label.astype(np.int64), "mask": mask,
            "points": (points.transpose(0, 2, 1) * mask[:, None, :]).astype(np.float32),
            "features": (features * mask[:, None, :]).astype(np.float32)}


def standardize(splits: dict[str, dict[str, np.ndarray]]) -> None:
    """Standardize the features with the training split's real particles, as the preprocess stage does."""
    train = splits["train"]
    real = train["features"].transpose(0, 2, 1)[train["mask"]]
    mean, std = real.mean(axis=0), real.std(axis=0)
    for jets in splits.values():
        scaled = (jets["features"] - mean[None, :, None]) / std[None, :, None]
        jets["features"] = (scaled * jets["mask"][:, None, :]).astype(np.float32)


def rootml_model(seed: int) -> nn.Module:
    """rootml's particlenet with the benchmark's hyper-parameters."""
    return build_model("particlenet", {"features": N_FEATURES}, 2, seed=seed, k=K, conv_params=CONV, fc_params=FC,
                       dropout=DROPOUT)


def weaver_model(seed: int, trim: bool) -> nn.Module:
    """weaver-core's ParticleNet with the same hyper-parameters (its own defaults otherwise)."""
    torch.manual_seed(seed)
    return WeaverParticleNet(N_FEATURES, 2, conv_params=[(K, tuple(c)) for c in CONV],
                             fc_params=[(w, DROPOUT) for w in FC], trim=trim)


def train_in_lockstep(models: dict[str, nn.Module], train: dict[str, torch.Tensor], test: dict[str, torch.Tensor],
                      epochs: int, seed: int) -> dict[str, tuple[float, float]]:
    """Train every model with AdamW on the same batches, one step of each in turn (so a change in the machine's
    load hits all alike); per model: training jets/s (its own step times) and test AUC."""
    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=LR) for name, model in models.items()}
    seconds = dict.fromkeys(models, 0.0)
    n = len(train["label"])
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for model in models.values():
            model.train()
        for first in range(0, n - BATCH + 1, BATCH):
            idx = order[first:first + BATCH]
            batch = [train[key][idx] for key in ("points", "features", "mask")]
            for name, model in models.items():
                start = time.perf_counter()
                loss = nn.functional.cross_entropy(model(*batch), train["label"][idx])
                optimizers[name].zero_grad(set_to_none=True)
                loss.backward()
                optimizers[name].step()
                seconds[name] += time.perf_counter() - start
    results = {}
    for name, model in models.items():
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(test["points"][s:s + 512], test["features"][s:s + 512], test["mask"][s:s + 512])
                                for s in range(0, len(test["label"]), 512)])
        score = torch.softmax(logits, dim=1)[:, 1].numpy()
        jets = (n // BATCH) * BATCH * epochs
        results[name] = (jets / seconds[name], float(roc_auc_score(test["label"].numpy(), score)))
    return results


def as_tensors(jets: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Torch tensors in the models' layout (mask (B, 1, N) float)."""
    return {"label": torch.from_numpy(jets["label"]), "points": torch.from_numpy(jets["points"]),
            "features": torch.from_numpy(jets["features"]),
            "mask": torch.from_numpy(jets["mask"][:, None, :].astype(np.float32))}


def rootml_trainer(splits: dict[str, dict[str, np.ndarray]], epochs: int, threads: int) -> tuple[float, float]:
    """train_model end to end on the same jets as prepared HDF5 files: training jets/s (val pass included), AUC."""
    names = [f"part_f{i}" for i in range(N_FEATURES)]
    with tempfile.TemporaryDirectory() as tmp:
        prepared = {split: {"part": Path(tmp) / "prepared" / split / "part.h5"} for split in splits}
        for split, jets in splits.items():
            prepared[split]["part"].parent.mkdir(parents=True)
            n = len(jets["label"])
            with open_for_writing(prepared[split]["part"]) as h5:
                H5Appender(h5).append({"label": jets["label"], "weight": np.ones(n, np.float32),
                                       "event_id": np.arange(n, dtype=np.int64), "features": jets["features"],
                                       "points": jets["points"], "mask": jets["mask"],
                                       "vectors": np.zeros((n, 4, jets["mask"].shape[1]), np.float32)})
                h5.attrs.update({"classes": json.dumps(["one", "two"]), "feature_names": json.dumps(names)})
        config = {"seed": 1, "classes": ["one", "two"],
                  "features": {"sets": {"part": {"features": names, "max_length": jets["mask"].shape[1],
                                                 "coordinates": ["part_deta", "part_dphi"]}}},
                  "training": {"epochs": epochs, "batch_size": BATCH, "lr": LR, "schedule": "constant",
                               "warmup_epochs": 0, "grad_clip": None, "weight_decay": 0.01, "num_threads": threads}}
        entry = {"family": "particlenet", "hparams": {"k": K, "conv_params": CONV, "fc_params": FC, "dropout": DROPOUT}}
        run = model_run("pnet", entry, config)
        outcome = train_model(run, config["classes"], prepared, ModelFiles.of_family(Path(tmp) / "model", run.family),
                              device=CPU, progress=False)
    n_train = len(splits["train"]["label"])
    return (n_train // BATCH) * BATCH * epochs / sum(row["seconds"] for row in outcome.history), outcome.metrics["auc"]


def main() -> None:
    """Train both models on the same data and print throughput, AUC and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=4000, help="training jets (test: a third of it)")
    parser.add_argument("--particles", type=int, default=48, help="padded particles per jet")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    logging.getLogger("weaver").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    splits = {"train": synthetic_jets(args.jets, args.particles, 1),
              "val": synthetic_jets(args.jets // 3, args.particles, 2),
              "test": synthetic_jets(args.jets // 3, args.particles, 3)}
    standardize(splits)
    train, test = as_tensors(splits["train"]), as_tensors(splits["test"])
    print(f"{args.jets} training jets x {args.particles} particles, batch {BATCH}, k {K}, EdgeConv {CONV}, "
          f"{args.epochs} epochs, {args.threads} thread(s), CPU")
    models = {"rootml particlenet": rootml_model(0), "weaver ParticleNet (trim, default)": weaver_model(0, trim=True),
              "weaver ParticleNet (no trim)": weaver_model(0, trim=False)}
    results = train_in_lockstep(models, train, test, args.epochs, seed=0)
    results["rootml train_model (HDF5 + trainer)"] = rootml_trainer(splits, args.epochs, args.threads)
    reference = results["rootml particlenet"][0]
    for name, (rate, auc) in results.items():
        print(f"{name:38s} {rate:8.0f} jets/s  test AUC {auc:.4f}  rootml/this {reference / rate:5.2f}x")


if __name__ == "__main__":
    main()
