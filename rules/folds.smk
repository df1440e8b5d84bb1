# Stage folds: k-fold cross-validation (training.folds >= 2). Each fold run {model}_f{i} trains like any run, on the
# train+val jets outside fold i, validates on fold i and also writes that fold's out-of-fold predictions; the folds
# rule gathers them per model (an entry, or each of its seed copies) with the fold metrics and the ROC figure.
from rootml.training.folds import FOLDED_SPLITS, FoldFiles, fold_groups

FOLD_GROUPS = fold_groups(MODEL_RUNS)  # model trained in folds -> its fold runs, in fold order


def fold_outputs(family: str) -> dict[str, str]:
    """The outputs of a fold run of `family`: a trained model's files and its out-of-fold predictions."""
    files = ModelFiles.of_family("results/models/{model}", family)
    return {**files.as_outputs(), "predictions_oof": str(files.predictions_oof)}


def folds_input(wildcards) -> dict:
    """The evaluated files and out-of-fold predictions of the model's fold runs, and the prepared train and val
    files (their event ids: every jet must be predicted out of fold once)."""
    runs = FOLD_GROUPS[wildcards.model]
    kinds = ("config", "predictions_test", "predictions_train", "history")
    return {
        **{kind: [model_files(run)[kind] for run in runs] for kind in kinds},
        "predictions_oof": [str(ModelFiles.in_directory(f"results/models/{run}").predictions_oof) for run in runs],
        **prepared_inputs(MODEL_RUNS[runs[0]].representations[:1], FOLDED_SPLITS),
    }


use rule train as train_fold with:
    output:
        **fold_outputs("torch"),
    wildcard_constraints:
        model=one_of(runs_where(lambda run: run.family != "bdt" and run.fold is not None)),


use rule train_bdt as train_bdt_fold with:
    output:
        **fold_outputs("bdt"),
    wildcard_constraints:
        model=one_of(runs_where(lambda run: run.family == "bdt" and run.fold is not None)),


rule folds:
    input:
        unpack(folds_input),
    output:
        **{
            name: path
            for name, path in FoldFiles.in_directory("results/folds/{model}").as_outputs().items()
            if name != "roc_png"
        },
        roc_png=report(
            str(FoldFiles.in_directory("results/folds/{model}").roc_png),
            caption="captions/folds.rst",
            category="k-fold cross-validation",
            subcategory="{model}",
        ),
    log:
        "logs/folds/{model}.log",
    wildcard_constraints:
        model=one_of(FOLD_GROUPS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        runs=lambda wildcards: FOLD_GROUPS[wildcards.model],
        classes=config["classes"],
        settings=EVALUATION.as_dict(),
        seed=config["seed"],
    script:
        "../workflow_scripts/folds.py"
