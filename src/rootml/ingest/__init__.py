"""Stage ingest: any TTree or RNTuple (or hls4ml / top-tagging HDF5 file) to parquet, one row per jet, element or
event."""

from rootml.ingest.run import ingest_file
from rootml.ingest.spec import SampleSpec

__all__ = ["SampleSpec", "ingest_file"]
