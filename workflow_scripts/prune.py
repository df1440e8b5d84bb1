"""Rule prune: one trained torch model -> pruning table, pruned weights, checked ONNX file, latency table."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.pruning import prune_model  # noqa: E402

sm = snakemake  # noqa: F821
logging.basicConfig(filename=sm.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
settings = {**sm.config["pruning"], "num_threads": sm.config["pruning"].get("num_threads") or sm.threads}
prune_model(Path(sm.input.model).parent, Path(sm.input.data[0]).parents[1], Path(sm.output.table).parent, settings)
