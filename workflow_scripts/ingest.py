"""Rule ingest: one input file (ROOT or HDF5) to one canonical parquet file."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.ingest import SampleSpec, ingest_file  # noqa: E402

sm = snakemake  # noqa: F821
name = sm.wildcards.sample
spec = SampleSpec.from_config(name, sm.config["samples"][name], sm.config["classes"])
ingest_file(sm.input[0], sm.output[0], spec=spec, file_index=int(sm.wildcards.chunk), classes=sm.config["classes"])
