"""Rule folds: one model's fold runs -> gathered out-of-fold predictions, fold metrics and the per-fold ROC figure."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.evaluation.folds import evaluate_folds
from rootml.evaluation.results import ResultFiles
from rootml.evaluation.settings import EvaluateSettings
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split
from rootml.training.folds import FOLDED_SPLITS, FoldFiles


def main(sm) -> None:
    """Gather and evaluate the rule's fold runs."""
    files = [ResultFiles(Path(config), Path(test), Path(train), Path(history)) for config, test, train, history
             in zip(sm.input.config, sm.input.predictions_test, sm.input.predictions_train, sm.input.history)]
    prepared = prepared_by_split(dict(sm.input.items()))
    evaluate_folds(sm.params.runs, files, [Path(path) for path in sm.input.predictions_oof],
                   [Path(next(iter(prepared[split].values()))) for split in FOLDED_SPLITS], sm.params.classes,
                   EvaluateSettings(**sm.params.settings), sm.params.seed, FoldFiles.of_outputs(sm.output))


run_job(snakemake, main)
