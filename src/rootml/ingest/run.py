"""Ingest one input file (ROOT or HDF5) into one canonical parquet file (docs/contracts.md): the stage's entry
point."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from rootml.columns import JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS
from rootml.errors import InputError
from rootml.ingest import bookkeeping
from rootml.ingest.canonical import JET_NAMES, check_finite, complete
from rootml.ingest.hdf5_rows import read_hdf5
from rootml.ingest.root import read_root
from rootml.ingest.rows import Array, RowBatch, take_rows
from rootml.ingest.spec import SampleSpec
from rootml.ingest.writer import write_parquet

ROW_ORDER: tuple[str, ...] = (*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS)


def ingest_file(
    in_path: str | Path, out_path: str | Path, *, spec: SampleSpec, file_index: int, classes: Sequence[str],
    progress: bool = True,
) -> dict[str, float]:
    """Read `in_path` step by step and write its rows (jets, elements or events) to the parquet file `out_path`;
    return counts and time.

    Event ids hash the event number (the `event_id` expression, else the entry) with the sample
    and file name, so they stay the same when the files move.
    """
    start = time.perf_counter()
    if spec.format == "root":
        total, batches = read_root(in_path, spec)
    else:
        total, batches = None, read_hdf5(in_path, spec)
    counts: Counter = Counter()
    namespace = f"{spec.name}/{Path(in_path).name}"

    def finished() -> Iterator[dict[str, Array]]:
        """The output columns of every step, with a progress bar over entries."""
        with tqdm(total=total, desc=f"ingest {spec.name} #{file_index}", unit="entries", disable=not progress) as bar:
            for batch in batches:
                bar.update(batch.entries)
                yield _output_columns(batch, spec, list(classes), namespace, str(in_path), counts)
        _check_kept(counts, spec, str(in_path))

    metadata = {
        "rootml.sample": spec.name,
        "rootml.classes": json.dumps(list(classes)),
        "rootml.source": Path(in_path).name,
    }
    written = write_parquet(out_path, finished(), metadata=metadata)
    seconds = time.perf_counter() - start
    return {
        "file_index": float(file_index), "entries": float(counts["entries"]), "jets": float(counts["jets"]),
        "written": float(written), "unlabelled": float(counts["unlabelled"]), "rejected": float(counts["rejected"]),
        "seconds": seconds, "jets_per_second": counts["jets"] / seconds if seconds > 0 else 0.0,
    }


def _check_kept(counts: Counter, spec: SampleSpec, file: str) -> None:
    """Refuse a file that gives no row to write (before the parquet file is renamed into place), naming the cause."""
    rows, labelled = counts["jets"], counts["jets"] - counts["unlabelled"]
    if rows == 0:
        raise InputError("no rows in the file", file=file)
    if labelled == 0:
        raise InputError(f"none of the {rows} rows matches an expression of samples.{spec.name}.labels", file=file)
    if counts["rejected"] == labelled:
        raise InputError(f"samples.{spec.name}.selection keeps none of the {labelled} labelled rows", file=file)


def _output_columns(
    batch: RowBatch, spec: SampleSpec, classes: list[str], namespace: str, file: str, counts: Counter,
) -> dict[str, Array]:
    """Validate, complete, label, weight, select and order one step's columns for writing: the canonical jet
    columns, the sets' columns, the mapped columns, the bookkeeping."""
    check_finite(batch.given(), batch.sources, file)
    completed = complete(batch.columns, batch.sets, sources=batch.sources, file=file, key=f"samples.{spec.name}")
    rows = {name: completed[name] for name in ROW_ORDER if name in completed}
    sets = {name: values for name, values in completed.items() if name not in rows}
    mapped = {n: v for n, v in batch.columns.items() if n not in JET_NAMES and n not in batch.aux}
    n = len(batch.entry)
    scope = {**batch.columns, **completed, "jet_index": batch.jet_index}
    scope["label"] = bookkeeping.labels(spec, scope, n, classes, file)
    scope["weight"] = bookkeeping.weights(spec, scope, n, file)
    labelled = scope["label"] != bookkeeping.NO_LABEL
    keep = labelled & bookkeeping.selected(spec, scope, n)
    counts.update(
        steps=1,
        entries=batch.entries,
        jets=n,
        unlabelled=int((~labelled).sum()),
        rejected=int((labelled & ~keep).sum()),
    )
    out = rows | sets | mapped | {
        "label": scope["label"], "weight": scope["weight"],
        "event_id": bookkeeping.event_ids(spec, scope, batch.entry, namespace), "jet_index": batch.jet_index,
    }
    if keep.all():
        return out
    return {name: take_rows(values, keep) for name, values in out.items()}
