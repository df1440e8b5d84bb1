"""Training: prepared HDF5 splits -> a trained-model directory (weights, config, history, predictions, metrics).

`run.train_model` is the entry point of the train rule; `load.load_trained` rebuilds a trained model for the later
stages. The package itself imports nothing, so that its light modules (settings, files) stay light.
"""
