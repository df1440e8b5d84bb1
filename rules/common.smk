# Shared helpers of the rules: which chunks each sample has, where each job's input comes from, the model runs.
from rootml.config import (
    check_config,
    config_subset,
    generated_samples,
    model_runs,
    sample_chunks,
    sample_files,
)
from rootml.generate.settings import SAMPLE_OVERRIDES
from rootml.preprocess.layout import prepared_inputs
from rootml.seeds import derive_seed
from rootml.training.files import ModelFiles
from rootml.training.folds import FOLDED_SPLITS, fold_groups

check_config(config)
GENERATED = generated_samples(config)
MODEL_RUNS = model_runs(config)  # run name -> ModelRun, every entry resolved once
FOLD_GROUPS = fold_groups(MODEL_RUNS)  # model trained in folds (training.folds) -> its fold runs, in fold order


def ingest_input(wildcards) -> str:
    """The file one ingest job reads: a generated chunk or the sample's n-th input file."""
    if wildcards.sample in GENERATED:
        return f"data/raw/{wildcards.sample}/{wildcards.chunk}.root"
    return sample_files(config, wildcards.sample)[int(wildcards.chunk)]


def model_files(run: str) -> dict[str, str]:
    """The named files of a trained model run (results/models/{run}/)."""
    return ModelFiles.of_family(f"results/models/{run}", MODEL_RUNS[run].family).as_outputs()


def runs_where(test) -> list[str]:
    """The model runs whose ModelRun passes `test`."""
    return [name for name, run in MODEL_RUNS.items() if test(run)]


def one_of(names) -> str:
    """A wildcard constraint matching exactly these names (none: a name no file has)."""
    return "|".join(names) or "__none__"


def generate_params(wildcards) -> dict:
    """What one generate job makes: process, jets, class, the seed of its chunk and the sample's own generate settings
    (samples.<name>.generate.simulate: a change re-runs the job)."""
    sample = config["samples"][wildcards.sample]
    return {
        "process": sample["generate"]["process"],
        "n_jets": sample["generate"]["jets_per_chunk"],
        "label": sample["label"],
        "seed": derive_seed(config["seed"], "generate", wildcards.sample, int(wildcards.chunk)),
        "overrides": {key: sample["generate"][key] for key in SAMPLE_OVERRIDES if key in sample["generate"]},
    }


def train_input(wildcards) -> dict[str, str]:
    """The prepared files (every split) of the representations the run's model reads, named {split}_{representation}."""
    return prepared_inputs(MODEL_RUNS[wildcards.model].representations)


def teacher_input(wildcards) -> dict[str, str]:
    """A distilled run's teacher: its trained files (teacher_config, teacher_weights: the DAG trains it first) and the
    training and validation files of the representations it reads beyond the student's (it is run on the student's
    jets); nothing for other runs."""
    student = MODEL_RUNS[wildcards.model]
    if student.distill is None:
        return {}
    files = model_files(student.distill.teacher_run)
    reads = MODEL_RUNS[student.distill.teacher_run].representations
    return {
        "teacher_config": files["config"],
        "teacher_weights": files["weights"],
        # the splits rootml.training.distill.TAUGHT_SPLITS runs the teacher on (not imported: it would load torch)
        **prepared_inputs([rep for rep in reads if rep not in student.representations], ["train", "val"]),
    }


def train_gpus(wildcards) -> int:
    """GPUs of one training job: none for the BDT, resources.train_gpus for torch models."""
    return 0 if MODEL_RUNS[wildcards.model].family == "bdt" else config["resources"]["train_gpus"]


def trained_input(wildcards) -> dict[str, str]:
    """A trained model (config, weights) and the prepared files of every split it was trained on (prune, rank)."""
    files = model_files(wildcards.model)
    return {"config": files["config"], "weights": files["weights"], **train_input(wildcards)}


def explore_input(wildcards) -> dict[str, str]:
    """A trained model (config, weights) and the test split's prepared files it reads."""
    files = model_files(wildcards.model)
    reads = MODEL_RUNS[wildcards.model].representations
    return {"config": files["config"], "weights": files["weights"], **prepared_inputs(reads, ["test"])}


def evaluated_files(kind: str) -> list[str]:
    """One file of every model run (config, predictions_test, predictions_train or history), in MODEL_RUNS order."""
    return [model_files(run)[kind] for run in MODEL_RUNS]


def fold_outputs(family: str) -> dict[str, str]:
    """The outputs of a fold run of `family` (rules/folds.smk): a trained model's files and its out-of-fold
    predictions."""
    files = ModelFiles.of_family("results/models/{model}", family)
    return {**files.as_outputs(), "predictions_oof": str(files.predictions_oof)}


def folds_input(wildcards) -> dict:
    """The evaluated files and out-of-fold predictions of a model's fold runs, and the prepared train and val files
    of one representation (their event ids: every jet must be predicted out of fold once)."""
    runs = FOLD_GROUPS[wildcards.model]
    kinds = ("config", "predictions_test", "predictions_train", "history")
    return {
        **{kind: [model_files(run)[kind] for run in runs] for kind in kinds},
        "predictions_oof": [str(ModelFiles.in_directory(f"results/models/{run}").predictions_oof) for run in runs],
        **prepared_inputs(MODEL_RUNS[runs[0]].representations[:1], FOLDED_SPLITS),
    }


wildcard_constraints:
    chunk=r"\d{4}",
