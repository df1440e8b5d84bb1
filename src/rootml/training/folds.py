"""k-fold cross-validation (training.folds): the fold of each jet of the train and val splits, by a hash of its
event id as the splits are made (rootml.preprocess.split), and the readers of a fold run: it trains on the jets of
both splits outside its fold and validates on those inside, read from the prepared files with a row selection
(SplitReader.restrict); the test split is read whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rootml.config import ModelRun
from rootml.files import FileSet
from rootml.seeds import derive_seed, hash_unit_interval
from rootml.training.data import DatasetInfo, SplitReader

FOLD_SALT = derive_seed(0, "folds")  # fixed: the folds do not follow the splits (salted by the config seed)
FOLDED_SPLITS: tuple[str, ...] = ("train", "val")  # the splits divided into folds; the test split stays whole
ID_BLOCK = 65_536


@dataclass(frozen=True)
class FoldFiles(FileSet):
    """What the folds rule writes for the fold runs of one model (results/folds/{model}/, docs/contracts.md)."""

    NAMES = {"predictions_oof": "predictions_oof.parquet", "metrics": "metrics.csv", "roc_pdf": "roc.pdf",
             "roc_png": "roc.png"}

    predictions_oof: Path
    metrics: Path
    roc_pdf: Path
    roc_png: Path


def fold_groups(runs: Mapping[str, ModelRun]) -> dict[str, list[str]]:
    """The model trained in folds (the entry, or each of its seed copies) -> its fold runs, in fold order."""
    groups: dict[str, list[str]] = {}
    for name, run in runs.items():
        if run.fold is not None:
            groups.setdefault(name.removesuffix(f"_f{run.fold}"), []).append(name)
    return groups


def assign_folds(event_ids: np.ndarray, folds: int) -> np.ndarray:
    """Fold index in [0, folds) per jet, from a hash of its event id: deterministic, independent of file order and
    of the train/val/test split; jets of one event share a fold."""
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    return np.minimum((hash_unit_interval(event_ids, FOLD_SALT) * folds).astype(np.int64), folds - 1)


def event_ids(reader: SplitReader) -> np.ndarray:
    """event_id of every row of the reader's files, in file order."""
    return np.concatenate([batch["event_id"] for batch in reader.batches(["event_id"], ID_BLOCK)])


class FoldReader:
    """The jets of several restricted SplitReaders (the train and val splits) read as one split: what the trainer,
    the BDT, the calibration and the predictions use of a reader."""

    def __init__(self, parts: Sequence[SplitReader], split: str) -> None:
        """Read `parts` (same representations and classes) as the split named `split` in messages."""
        self.parts = list(parts)
        self.split = split
        self.paths = [path for part in self.parts for path in part.paths]
        self.n_rows = sum(part.n_rows for part in self.parts)

    @property
    def classes(self) -> list[str]:
        """The classes of the prepared files."""
        return self.parts[0].classes

    @property
    def datasets(self) -> dict[str, DatasetInfo]:
        """The datasets of the first part (the parts hold the same ones)."""
        return self.parts[0].datasets

    @property
    def feature_names(self) -> dict[str, list[str]]:
        """Feature names of each representation."""
        return self.parts[0].feature_names

    @property
    def columns(self) -> np.ndarray | None:
        """Indices of the high-level features read among the prepared ones (None: all)."""
        return self.parts[0].columns

    @property
    def observers(self) -> list[str]:
        """The raw observer datasets (obs_*) carried for the predictions."""
        return self.parts[0].observers

    def input_dims(self) -> dict[str, int | tuple[int, ...]]:
        """Sizes of the model inputs present."""
        return self.parts[0].input_dims()

    def require(self, keys: Sequence[str]) -> None:
        """Raise InputError when one of `keys` is missing in a part."""
        for part in self.parts:
            part.require(keys)

    def count(self, labels: Sequence[int] | None = None) -> int:
        """Number of jets whose label is in `labels` (all jets when None)."""
        return sum(part.count(labels) for part in self.parts)

    def batches(
        self, keys: Sequence[str], batch_size: int, *, seed: int | None = None, labels: Sequence[int] | None = None,
        drop_last: bool = False, max_rows: int | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """SplitReader.batches over the parts: in part order without `seed` (the first max_rows jets when given),
        with a seed each part shuffled and the parts' batches interleaved at random, in proportion to their jets."""
        if seed is None:
            yield from self._in_order(keys, batch_size, labels, drop_last, max_rows)
            return
        rng = np.random.default_rng(seed)
        streams = [part.batches(keys, batch_size, seed=int(rng.integers(2**31)), labels=labels, drop_last=drop_last)
                   for part in self.parts]
        left = np.array([part.n_rows for part in self.parts], dtype=np.float64)
        while streams:
            index = int(rng.choice(len(streams), p=left / left.sum())) if left.sum() > 0 else 0
            batch = next(streams[index], None)
            if batch is None:
                del streams[index]
                left = np.delete(left, index)
                continue
            left[index] = max(left[index] - len(batch["label"]), 0.0)
            yield batch

    def _in_order(
        self, keys: Sequence[str], batch_size: int, labels: Sequence[int] | None, drop_last: bool,
        max_rows: int | None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """The parts' batches one part after the other, stopping after `max_rows` jets (None: all)."""
        remaining = self.n_rows if max_rows is None else max_rows
        for part in self.parts:
            for batch in part.batches(keys, batch_size, labels=labels, drop_last=drop_last):
                if remaining <= 0:
                    return
                size = len(batch["label"])
                yield batch if size <= remaining else {key: values[:remaining] for key, values in batch.items()}
                remaining -= size


def fold_readers(open_split: Callable[[str], SplitReader], fold: int, folds: int) -> Mapping[str, FoldReader]:
    """The train and val readers of the run validated on `fold` of `folds`: the train+val jets outside the fold,
    and those inside it; `open_split(split)` opens a new SplitReader of a split's prepared files."""
    training, validation = [], []
    for split in FOLDED_SPLITS:
        outside, inside = open_split(split), open_split(split)
        in_fold = assign_folds(event_ids(inside), folds) == fold
        outside.restrict(~in_fold)
        inside.restrict(in_fold)
        training.append(outside)
        validation.append(inside)
    name = f"fold {fold} of {folds} of {'+'.join(FOLDED_SPLITS)}"
    return {"train": FoldReader(training, f"train ({name}: the other folds)"), "val": FoldReader(validation, name)}
