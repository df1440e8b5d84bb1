"""Rule train_{model}: one model run -> results/models/{model}/ (resumes from its checkpoint.pt when present)."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.config import model_runs  # noqa: E402
from rootml.training import train_model  # noqa: E402

sm = snakemake  # noqa: F821
logging.basicConfig(filename=sm.log[0] if sm.log else None, level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
training = dict(sm.config.get("training", {}))
if training.get("num_threads") is None:
    training["num_threads"] = sm.threads  # the rule's threads bound torch's CPU threads unless the config sets them
name = sm.wildcards.model
train_model(name, model_runs(sm.config)[name], {**sm.config, "training": training},
            data_dir=Path(sm.input[0]).parents[1], out_dir=Path(sm.output[0]).parent, progress=False)
