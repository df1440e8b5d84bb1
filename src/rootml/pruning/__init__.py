"""Stage prune: iterative magnitude pruning with fine-tuning, ONNX export checked with onnxruntime, latency tables.

`run.prune_model` is the entry point of the prune rule.
"""
