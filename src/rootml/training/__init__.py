"""Training: prepared HDF5 splits -> a trained-model directory (weights, config, history, predictions, metrics).

`train_model` is the entry point of the train rule; `load_trained` rebuilds a trained model for the later stages.
"""

from rootml.training.load import TrainedModel, load_trained
from rootml.training.run import TrainingOutcome, train_model

__all__ = ["TrainedModel", "TrainingOutcome", "load_trained", "train_model"]
