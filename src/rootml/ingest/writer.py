"""Stream batches of columns into one parquet file (a row group per batch), atomically."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rootml.atomic import atomic_output

Array = np.ndarray | ak.Array
# lz4 without dictionary pages: constituent floats are nearly all distinct, so dictionary encoding
# costs half the write time for no size gain; lz4 keeps the write cheaper than the ROOT read it overlaps
COMPRESSION = "lz4"


def to_table(columns: Mapping[str, Array]) -> pa.Table:
    """An arrow table of numpy (zero-copy) and jagged awkward columns (32-bit list offsets), without nulls."""
    arrays = [
        (
            pa.array(values)
            if isinstance(values, np.ndarray)
            else ak.to_arrow(values, list_to32=True, extensionarray=False)
        )
        for values in columns.values()
    ]
    schema = pa.schema([pa.field(name, array.type, nullable=False) for name, array in zip(columns, arrays)])
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(path: str | Path, batches: Iterable[Mapping[str, Array]], *, metadata: Mapping[str, str]) -> int:
    """Write every batch (at least one) as a row group of `path`; return the rows written. No file on error.

    The write of one row group runs in a background thread (pyarrow releases the GIL) while the
    next batch is read and prepared; at most one batch waits, so memory stays at about two steps.
    """
    rows = 0
    with atomic_output(path) as tmp, ThreadPoolExecutor(max_workers=1) as pool:
        writer: pq.ParquetWriter | None = None
        pending: Future | None = None
        try:
            for batch in batches:
                table = to_table(batch)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema.with_metadata(dict(metadata)), compression=COMPRESSION,
                                             use_dictionary=False)
                elif not table.schema.equals(writer.schema, check_metadata=False):
                    table = table.cast(writer.schema)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, table)
                rows += table.num_rows
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                pending.exception()
            if writer is not None:
                writer.close()
    return rows
