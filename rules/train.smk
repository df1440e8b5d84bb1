# Stage train: one job per model run (a model entry, or each seed copy of it), on its prepared representations.


def train_input(wildcards) -> list[str]:
    """The prepared files (every split) of the representations the run's model reads."""
    entry = MODEL_RUNS[wildcards.model]
    return [f"data/prepared/{split}/{rep}.h5" for rep in model_representations(entry) for split in SPLITS]


def train_gpus(wildcards) -> int:
    """GPUs of one training job: none for the BDT, resources.train_gpus for torch models."""
    return 0 if MODEL_RUNS[wildcards.model]["family"] == "bdt" else config["resources"]["train_gpus"]


rule train:
    input:
        train_input,
    output:
        config="results/models/{model}/model_config.json",
        metrics="results/models/{model}/metrics.json",
        history="results/models/{model}/history.json",
        predictions="results/models/{model}/predictions_test.parquet",
        train_predictions="results/models/{model}/predictions_train.parquet",
    log:
        "logs/train/{model}.log",
    wildcard_constraints:
        model="|".join(MODEL_RUNS) or "__none__",
    params:
        # retrain when this model's entry, the trainer defaults or the seed change (and only then)
        entry=lambda wildcards: MODEL_RUNS[wildcards.model],
        training=config["training"],
        seed=config["seed"],
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda wildcards: train_gpus(wildcards),
        request_gpus=lambda wildcards: train_gpus(wildcards),  # the HTCondor plugin reads its own name
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/train.py"
