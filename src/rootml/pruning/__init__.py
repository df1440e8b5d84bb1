"""Stage prune: iterative magnitude pruning and structured pruning (whole neurons and channels, then a physically
smaller dense model) with fine-tuning in the hls4ml way (L1 penalty, early stopping, optional rewinding), ONNX export
checked with onnxruntime, latency tables.

`run.prune_model` is the entry point of the prune rule.
"""
