"""The HDF5 jet datasets (hls4ml, top tagging) as per-jet row batches, with the config's column mapping."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from rootml.errors import ConfigError, InputError
from rootml.ingest.canonical import PARTICLE_SET
from rootml.ingest.expressions import Expression
from rootml.ingest.rows import RowBatch, as_rows
from rootml.ingest.spec import SampleSpec

READERS: dict[str, str] = {"hls4ml": "iter_hls4ml", "toptagging": "iter_toptagging"}


def read_hdf5(path: str | Path, spec: SampleSpec) -> Iterator[RowBatch]:
    """Yield one RowBatch per step of the format's reader (its part_* lists are set `part`); `branches` maps output
    names to column expressions."""
    if spec.sets:
        raise ConfigError(f"samples.{spec.name}.sets", f"the {spec.format} format gives set part itself: no 'sets'")
    if not Path(path).is_file():
        raise InputError("input file not found", file=str(path))
    reader = getattr(importlib.import_module("rootml.ingest.hdf5"), READERS[spec.format])
    return _steps(reader(Path(path), int(spec.step_size)), spec.branches)


def _steps(steps: Iterator[dict], mapping: Mapping[str, Expression]) -> Iterator[RowBatch]:
    """Split each step into columns and set `part`; attach the mapped columns, entry numbers (the jet's row in the
    file) and jet_index 0."""
    start = 0
    prefix = f"{PARTICLE_SET}_"
    for step in steps:
        columns = {name: as_rows(values) for name, values in step.items()}
        n = len(next(iter(columns.values())))
        columns |= {name: as_rows(expression.evaluate(columns)) for name, expression in mapping.items()}
        part = {name.removeprefix(prefix): v for name, v in columns.items() if name.startswith(prefix)}
        yield RowBatch(
            columns={name: v for name, v in columns.items() if not name.startswith(prefix)},
            sets={PARTICLE_SET: part} if part else {},
            sources={name: name for name in step} | {name: e.text for name, e in mapping.items()},
            aux=frozenset(),
            entry=np.arange(start, start + n, dtype=np.int64),
            jet_index=np.zeros(n, dtype=np.int32),
            entries=n,
        )
        start += n
