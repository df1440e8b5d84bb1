"""Stage ingest: any TTree (or hls4ml / top-tagging HDF5 file) to canonical per-jet parquet."""

from rootml.ingest.run import ingest_file
from rootml.ingest.spec import SampleSpec

__all__ = ["SampleSpec", "ingest_file"]
