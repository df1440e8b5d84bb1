"""Small result files of a trained model: JSON documents and the per-epoch history (JSON and CSV)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rootml.atomic import atomic_output

HISTORY_COLUMNS: tuple[str, ...] = ("epoch", "train_loss", "val_loss", "val_accuracy", "val_auc", "lr", "seconds")


def write_json(data: Mapping[str, Any] | Sequence[Any], path: Path) -> None:
    """Write indented, key-sorted JSON atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def write_history(history: Sequence[Mapping[str, Any]], json_path: Path, csv_path: Path) -> None:
    """The history as JSON and CSV: one row per epoch (or boosting round) with HISTORY_COLUMNS."""
    write_json([dict(row) for row in history], json_path)
    with atomic_output(csv_path) as tmp:
        pd.DataFrame(list(history), columns=list(HISTORY_COLUMNS)).to_csv(tmp, index=False)


def save_torch(obj: object, path: str | Path) -> None:
    """torch.save through an open file: given a path, torch records that (temporary) name in the archive."""
    with open(path, "wb") as handle:
        torch.save(obj, handle)
