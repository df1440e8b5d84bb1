"""Rule rank: feature importances of one trained model."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.ranking import rank_model  # noqa: E402

sm = snakemake  # noqa: F821
logging.basicConfig(filename=sm.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
settings = {**sm.params.settings, "num_threads": sm.params.settings.get("num_threads") or sm.threads}
rank_model(Path(sm.input[0]).parent, Path(sm.input[1]).parents[1], Path(sm.output.summary).parent, settings)
