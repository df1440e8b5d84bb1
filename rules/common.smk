# Shared helpers of the rules: which chunks each sample has and where each job's input comes from.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from rootml.config import (  # noqa: E402
    check_config, generated_samples, model_representations, model_runs, sample_chunks, sample_files,
)

check_config(config)
GENERATED = generated_samples(config)
MODEL_RUNS = model_runs(config)
SPLITS = ("train", "val", "test")


def ingest_input(wildcards) -> str:
    """The file one ingest job reads: a generated chunk or the sample's n-th input file."""
    if wildcards.sample in GENERATED:
        return f"data/raw/{wildcards.sample}/{wildcards.chunk}.root"
    return sample_files(config, wildcards.sample)[int(wildcards.chunk)]


def ingested_files() -> list[str]:
    """Every ingested parquet file of the run."""
    return [f"data/ingested/{name}/{chunk}.parquet" for name in config["samples"] for chunk in sample_chunks(config, name)]


wildcard_constraints:
    chunk=r"\d{4}",
