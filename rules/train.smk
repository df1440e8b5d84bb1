# Stage train: one job per model run (a model entry, or each seed copy of it), on its prepared representations.
# the runs of a fold of k-fold cross-validation are trained by rules/folds.smk (train_fold, train_bdt_fold)
TORCH_RUNS = runs_where(lambda run: run.family != "bdt" and run.fold is None)
BDT_RUNS = runs_where(lambda run: run.family == "bdt" and run.fold is None)


rule train:
    input:
        unpack(train_input),
        unpack(teacher_input),
    output:
        **ModelFiles.of_family("results/models/{model}", "torch").as_outputs(),
    log:
        "logs/train/{model}.log",
    wildcard_constraints:
        model=one_of(TORCH_RUNS),
    conda:
        "../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda wildcards: train_gpus(wildcards),
        request_gpus=lambda wildcards: train_gpus(wildcards),  # the HTCondor plugin reads its own name
    params:
        run=lambda wildcards: MODEL_RUNS[wildcards.model].as_dict(),  # retrain when the resolved run changes
        classes=config["classes"],
    script:
        "../workflow_scripts/train.py"


use rule train as train_bdt with:
    output:
        **ModelFiles.of_family("results/models/{model}", "bdt").as_outputs(),
    wildcard_constraints:
        model=one_of(BDT_RUNS),
