"""Feature-selection curve: a model retrained on the top-k ranked features for k = 1..N, its metric against k."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training import train_model
from rootml.training.data import SplitReader
from rootml.training.device import ComputeDevice

log = logging.getLogger(__name__)

Scorer = Callable[[Sequence[str]], float]
SPLITS: tuple[str, ...] = ("train", "val", "test")
# test metric followed along the curve, per task (higher is better for auc, lower for resolution)
SELECTION_METRICS: dict[str, str] = {"classification": "auc", "regression": "resolution"}
# model_config.json keys that make up the model entry a retraining needs
ENTRY_KEYS: tuple[str, ...] = ("family", "hparams", "task", "target", "loss", "background")


def selection_curve(score: Scorer, ranking: Sequence[str], k_max: int | None = None) -> pd.DataFrame:
    """score(top-k features) for k = 1..k_max (default: all of `ranking`): columns k, added, metric, seconds."""
    k_max = len(ranking) if k_max is None else min(k_max, len(ranking))
    if k_max < 1:
        raise ValueError(f"a selection curve needs at least one feature, got ranking {list(ranking)}, k_max {k_max}")
    rows = []
    for k in range(1, k_max + 1):
        start = time.perf_counter()
        metric = score(list(ranking[:k]))
        rows.append({"k": k, "added": ranking[k - 1], "metric": metric, "seconds": time.perf_counter() - start})
        log.info("selection: top %d features (+%s): metric %.5f", k, ranking[k - 1], metric)
    return pd.DataFrame(rows)


def read_highlevel(
    data_dir: Path, split: str, max_jets: int | None,
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """The first `max_jets` rows of a split's highlevel.h5 (every dataset but highlevel_raw), feature names, classes."""
    reader = SplitReader(data_dir, split, ["highlevel"], max_jets_in_memory=max_jets or np.iinfo(np.int64).max)
    keys = [key for key in reader.datasets if key != "highlevel_raw"]
    rows = reader.n_rows if max_jets is None else min(max_jets, reader.n_rows)
    batch = next(reader.batches(keys, rows, max_rows=rows))
    return batch, reader.feature_names["highlevel"], reader.classes


def retrainer(
    model_config: Mapping[str, Any], data_dir: Path, work_dir: Path, *, max_jets: int | None = None,
    device: ComputeDevice | None = None, num_threads: int | None = None,
) -> Scorer:
    """score(features): the test metric of the model of `model_config` retrained by train_model on those
    high-level features only (first `max_jets` jets of each split), with its hyper-parameters, training
    settings and seed; SELECTION_METRICS names the metric. Scratch files live in `work_dir`."""
    task = model_config.get("task", "classification")
    if task not in SELECTION_METRICS or model_config["inputs"] != ["highlevel"]:
        raise ValueError(f"model {model_config['name']}: feature selection needs a classifier or regression on the "
                         f"high-level features, not task {task} on {model_config['inputs']}")
    metric = SELECTION_METRICS[task]
    splits = {split: read_highlevel(data_dir, split, max_jets) for split in SPLITS}
    names = splits["train"][1]
    entry = {key: model_config[key] for key in ENTRY_KEYS if key in model_config}
    training = {**model_config["training"], **({} if num_threads is None else {"num_threads": num_threads})}
    config = {"seed": model_config["seed"], "classes": model_config["classes"], "training": training}

    def score(features: Sequence[str]) -> float:
        """Retrain on `features` and return the test metric."""
        unknown = [name for name in features if name not in names]
        if unknown:
            raise KeyError(f"features {unknown} are not in the prepared high-level features {names}")
        columns = [names.index(name) for name in features]
        run_dir = work_dir / f"top{len(features)}"
        for split, (arrays, _, classes) in splits.items():
            (run_dir / split).mkdir(parents=True, exist_ok=True)
            with open_for_writing(run_dir / split / "highlevel.h5") as h5:
                H5Appender(h5).append({**arrays, "highlevel": arrays["highlevel"][:, columns]})
                h5.attrs.update({"classes": json.dumps(classes), "split": split,
                                 "feature_names": json.dumps(list(features))})
        outcome = train_model(model_config["name"], entry, config, run_dir, run_dir / "model", device=device,
                              progress=False)
        shutil.rmtree(run_dir)
        return float(outcome.metrics[metric])

    return score
