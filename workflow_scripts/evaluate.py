"""Rule evaluate: metrics tables and evaluation figures of every model run."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.evaluation.evaluate import EvaluationFiles, evaluate_models
from rootml.evaluation.results import ResultFiles
from rootml.evaluation.settings import EvaluateSettings
from rootml.job import run_job


def main(sm) -> None:
    """Evaluate the rule's model runs."""
    models = {
        name: ResultFiles(Path(config), Path(test), Path(train), Path(history))
        for name, config, test, train, history in zip(
            sm.params.models, sm.input.configs, sm.input.test, sm.input.train, sm.input.history
        )
    }
    evaluate_models(models, sm.params.classes, EvaluateSettings(**sm.params.settings), sm.params.seed,
                    EvaluationFiles.of_outputs(sm.output))


run_job(snakemake, main)
