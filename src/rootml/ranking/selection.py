"""Feature-selection curve: a model retrained on the top-k ranked features for k = 1..N, its metric against k."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.config import ModelRun
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import ComputeDevice
from rootml.training.files import ModelFiles
from rootml.training.run import train_model

log = logging.getLogger(__name__)

Scorer = Callable[[Sequence[str]], float]
SPLITS: tuple[str, ...] = ("train", "val", "test")
# test metric followed along the curve, per task (higher is better for auc, lower for resolution)
SELECTION_METRICS: dict[str, str] = {"classification": "auc", "regression": "resolution"}


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
    path: str | Path, split: str, max_jets: int | None
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """The first `max_jets` rows of a split's highlevel.h5 (every dataset but highlevel_raw), feature names, classes."""
    reader = SplitReader({"highlevel": path}, split, max_jets_in_memory=max_jets or np.iinfo(np.int64).max)
    keys = [key for key in reader.datasets if key != "highlevel_raw"]
    rows = reader.n_rows if max_jets is None else min(max_jets, reader.n_rows)
    batch = next(reader.batches(keys, rows, max_rows=rows))
    return batch, reader.feature_names["highlevel"], reader.classes


def retrainer(
    model_config: Mapping[str, Any], prepared: Prepared, work_dir: Path, *, max_jets: int | None = None,
    device: ComputeDevice | None = None, num_threads: int | None = None,
) -> Scorer:
    """score(features): the test metric of the model of `model_config` retrained by train_model on those
    high-level features only (first `max_jets` jets of each split), with its hyper-parameters, training
    settings and seed; SELECTION_METRICS names the metric. Scratch files live in `work_dir`."""
    task = model_config["task"]
    if task not in SELECTION_METRICS or model_config["representations"] != ["highlevel"]:
        raise ValueError(f"model {model_config['name']}: feature selection needs a classifier or regression on the "
                         f"high-level features, not task {task} on {model_config['representations']}")
    metric = SELECTION_METRICS[task]
    splits = {split: read_highlevel(prepared[split]["highlevel"], split, max_jets) for split in SPLITS}
    names = splits["train"][1]
    trained = ModelRun.from_dict(model_config)
    training = trained.training if num_threads is None else replace(trained.training, num_threads=num_threads)
    run = replace(trained, features=None, n_particles=None, training=training, distill=None)  # retrained alone

    def score(features: Sequence[str]) -> float:
        """Retrain on `features` and return the test metric."""
        unknown = [name for name in features if name not in names]
        if unknown:
            raise KeyError(f"features {unknown} are not in the prepared high-level features {names}")
        columns = [names.index(name) for name in features]
        run_dir = work_dir / f"top{len(features)}"
        files = {split: {"highlevel": run_dir / split / "highlevel.h5"} for split in SPLITS}
        for split, (arrays, _, classes) in splits.items():
            files[split]["highlevel"].parent.mkdir(parents=True, exist_ok=True)
            with open_for_writing(files[split]["highlevel"]) as h5:
                H5Appender(h5).append({**arrays, "highlevel": arrays["highlevel"][:, columns]})
                h5.attrs.update({"classes": json.dumps(classes), "split": split,
                                 "feature_names": json.dumps(list(features))})
        outcome = train_model(
            run,
            model_config["classes"],
            files,
            ModelFiles.of_family(run_dir / "model", run.family),
            device=device,
            progress=False,
        )
        shutil.rmtree(run_dir)
        return float(outcome.metrics[metric])

    return score
