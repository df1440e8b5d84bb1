# Stage folds: k-fold cross-validation (training.folds >= 2). Each fold run {model}_f{i} trains like any run, on the
# train+val jets outside fold i, validates on fold i and also writes that fold's out-of-fold predictions; the folds
# rule gathers them per model (an entry, or each of its seed copies) with the fold metrics and the ROC figure.
from rootml.training.folds import FoldFiles


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
