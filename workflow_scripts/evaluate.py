"""Rule evaluate: metrics tables and evaluation figures of every model run."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.evaluation.evaluate import evaluate_models  # noqa: E402

sm = snakemake  # noqa: F821
logging.basicConfig(filename=sm.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
settings = sm.params.settings
model_dirs = {Path(path).parent.name: Path(path).parent for path in sm.input if path.endswith("history.json")}
evaluate_models(model_dirs, sm.config["classes"], settings["signal"], settings["background"],
                Path(sm.output.metrics).parent, efficiencies=settings["efficiencies"],
                reference=settings["reference_model"], weighted=settings["weighted"],
                n_bootstrap=settings["n_bootstrap"], seed=sm.config["seed"],
                sculpting_observable=settings["sculpting"]["observable"],
                sculpting_range=settings["sculpting"]["range"])
