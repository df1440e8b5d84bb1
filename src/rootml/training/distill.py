"""Knowledge distillation: a trained teacher's logits for every training and validation jet of its student.

The teacher is run once, before the student trains, on its own prepared files of each split: every prepared file of
a split holds the same jets in the same row order (docs/contracts.md), so the teacher may read other inputs than the
student (ParticleNet on the particles teaching an MLP on the high-level features). Its logits (a BDT's
log-probabilities) join the student's readers as an in-memory dataset, shuffled and batched with the student's own.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rootml.config import ModelRun
from rootml.errors import InputError
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import ComputeDevice
from rootml.training.files import ModelFiles
from rootml.training.inference import Collected, collect
from rootml.training.load import TrainedModel, load_trained
from rootml.training.objectives import TEACHER_LOGITS, Classification

log = logging.getLogger(__name__)

TAUGHT_SPLITS: tuple[str, ...] = ("train", "val")  # the student's loss needs the teacher on these
ID_BLOCK = 65_536


def teacher_files(run: ModelRun, student: ModelFiles) -> ModelFiles:
    """The files of the run's teacher: its trained-model folder results/models/{teacher_run}/ beside the student's."""
    if run.distill is None:
        raise ValueError(f"{run.key}: not a distilled model")
    directory = student.config.parent.parent / run.distill.teacher_run
    config = ModelFiles.in_directory(directory).config
    if not config.is_file():
        raise InputError(f"the teacher '{run.distill.teacher_run}' of {run.name} is not trained (no model_config.json)",
                         file=str(config))
    return ModelFiles.of_family(directory, json.loads(config.read_text())["family"])


def load_teacher(run: ModelRun, files: ModelFiles, classes: Sequence[str], device: ComputeDevice) -> TrainedModel:
    """The trained teacher of `run`, checked to be a classifier of the same classes."""
    teacher = load_trained(files.config, files.weights, device)
    if not isinstance(teacher.objective, Classification):
        raise InputError(f"the teacher of {run.name} is a {teacher.objective.task} model, not a classifier",
                         file=str(files.config))
    if list(teacher.config["classes"]) != list(classes):
        raise InputError(f"the teacher of {run.name} classifies {teacher.config['classes']}, the student "
                         f"{list(classes)}", file=str(files.config))
    return teacher


def teacher_outputs(teacher: TrainedModel, prepared: Prepared, split: str, max_jets_in_memory: int,
                    batch_size: int) -> Collected:
    """The teacher's logits for every jet of `split` in file order, with their label and event_id, from its own
    prepared files among `prepared` (split -> representation -> file)."""
    representations = list(teacher.config["representations"])
    missing = [rep for rep in representations if rep not in prepared.get(split, {})]
    if missing:
        raise ValueError(f"teacher {teacher.config['name']}: no prepared {split} file of {missing} among "
                         f"{dict(prepared)}")
    reader = SplitReader({rep: prepared[split][rep] for rep in representations}, split, max_jets_in_memory,
                         view=teacher.view, view_key=f"models.{teacher.config['model']}")
    return collect(teacher.forward, reader, list(teacher.input_keys), ["label", "event_id"], batch_size)


def file_order_ids(reader: SplitReader) -> np.ndarray:
    """event_id of every jet of the reader's split, in file order."""
    return np.concatenate([batch["event_id"] for batch in reader.batches(["event_id"], ID_BLOCK)])


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes (the teacher's weights: a retrained teacher makes another student run)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def attach_teacher(
    run: ModelRun, readers: Mapping[str, SplitReader], prepared: Prepared, files: ModelFiles, classes: Sequence[str],
    batch_size: int, device: ComputeDevice,
) -> dict[str, Any]:
    """Add the teacher's logits of each training and validation jet to the student's readers (dataset
    TEACHER_LOGITS); return what model_config.json records of the teacher."""
    teacher = load_teacher(run, files, classes, device)
    val_auc = None
    for split in TAUGHT_SPLITS:
        reader = readers[split]
        outputs = teacher_outputs(teacher, prepared, split, run.training.max_jets_in_memory, batch_size)
        if not np.array_equal(outputs.meta["event_id"], file_order_ids(reader)):
            raise InputError(f"the teacher's {split} files hold other jets (event_id) than the student's",
                             file=", ".join(map(str, reader.paths)))
        reader.add_column(TEACHER_LOGITS, outputs.outputs.astype(np.float32))
        if split == "val":
            val_auc = teacher.objective.metrics(outputs.outputs, outputs.meta)["auc"]
    log.info("%s: taught by %s (%s), validation AUC %s, T %g, alpha %g", run.name, teacher.config["name"],
             teacher.config["family"], val_auc, run.distill.temperature, run.distill.alpha)
    return {"run": teacher.config["name"], "family": teacher.config["family"],
            "representations": list(teacher.config["representations"]), "input_keys": list(teacher.input_keys),
            "n_parameters": teacher.config.get("n_parameters"), "weights_sha256": sha256_of(files.weights),
            "val_auc": val_auc}
