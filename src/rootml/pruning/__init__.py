"""Stage prune: iterative magnitude pruning with fine-tuning, ONNX export checked with onnxruntime, latency tables.

`prune_model` is the entry point of the prune rule.
"""

from rootml.pruning.latency import Backend, Timing, latency_table
from rootml.pruning.onnx_export import OnnxExportError, check_onnx, export_onnx
from rootml.pruning.prune import PruningStep, iterative_prune
from rootml.pruning.run import prune_model

__all__ = ["Backend", "OnnxExportError", "PruningStep", "Timing", "check_onnx", "export_onnx", "iterative_prune",
           "latency_table", "prune_model"]
