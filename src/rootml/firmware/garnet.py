"""hls4ml firmware of a trained GarNet (rootml.models.garnet): hls4ml converts GarNet only from Keras (no TensorFlow
here), so its ModelGraph is built from the layer list its Keras converter would produce, each layer parsed by hls4ml's
own Keras handlers (converters/keras/graph.py for the GarNetStack) from the torch weights (kernel = weight.T), then
compiled with g++ as bit-accurate C++. Inputs as hls4ml's GarNet takes them: the set's features (B, V, C) with the
real elements first, and the number of real elements (B, 1)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hls4ml.converters.keras.core import parse_activation_layer, parse_dense_layer, parse_input_layer
from hls4ml.converters.keras.graph import parse_garnet_layer
from hls4ml.model import ModelGraph
from torch import nn

from rootml.errors import ConfigError
from rootml.firmware.fixed_point import FixedPoint
from rootml.firmware.hls4ml_emulation import captured_output
from rootml.models.garnet import GarNet
from rootml.training.inference import Forward

STACK = "garnet"
# Fixes to hls4ml 1.x's GarNet (measured on a trained GarNet, tests/test_firmware_garnet*.py), made in the written
# project's files: file -> (text, replacement).
PATCHES = {
    # The mean's normalisation (n_vertices / reuse) / nvtx divides an int, and ap_fixed's quotient keeps the
    # dividend's fractional bits (none): 16 / 3 came out as 5, so every set whose element count does not divide the
    # slot count was averaged wrongly (correlation with torch ~0.3 on varying counts). Divide in the norm type.
    "firmware/nnet_utils/nnet_garnet.h": (
        "typename T::norm_t nvtx_norm = (T::n_vertices / T::reuse_factor) / nvtx;",
        "typename T::norm_t nvtx_norm = typename T::norm_t(T::n_vertices / T::reuse_factor) / nvtx;"),
    # The distance to each aggregator sums one product per input feature, each truncated (AP_TRN) to 8 fractional
    # bits: a bias of up to n_features / 256 in every distance, hence in every exp(-d^2) edge weight; rounding
    # (same 12 bits, same lookup table) took the mean |logit difference| of a trained GarNet from 0.050 to 0.005.
    "firmware/parameters.h": ("AP_TRN, AP_SAT> distance_t", "AP_RND, AP_SAT> distance_t"),
}


class TorchWeights:
    """hls4ml's Keras weight reader (get_weights_data) over the Keras-layout weights of the torch model."""

    def __init__(self, model: GarNet) -> None:
        """Keras kernels (in, out) and biases of the stack's FLR<i>, S<i>, Fout<i> and of the head's dense<i>."""
        self.weights: dict[str, dict[str, np.ndarray]] = {STACK: {}}
        for index, layer in enumerate(model.layers):
            for name, linear in (("FLR", layer.input_transform), ("S", layer.aggregator_distance),
                                 ("Fout", layer.output_transform)):
                self.weights[STACK][f"{name}{index}_kernel"], self.weights[STACK][f"{name}{index}_bias"] = keras(linear)
        for index, linear in enumerate(head_linears(model)):
            self.weights[f"dense{index}"] = dict(zip(("kernel", "bias"), keras(linear)))

    def get_weights_data(self, layer_name: str, var_name: str) -> np.ndarray:
        """The weight `var_name` of layer `layer_name`."""
        return self.weights[layer_name][var_name]


def keras(linear: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    """A torch Linear's (kernel (in, out), bias) as Keras stores them."""
    return linear.weight.detach().cpu().numpy().T.copy(), linear.bias.detach().cpu().numpy().copy()


def head_linears(model: GarNet) -> list[nn.Linear]:
    """The Linear layers of the model's dense head, in order."""
    return [module for module in model.head if isinstance(module, nn.Linear)]


def check_convertible(model: GarNet, key: str) -> None:
    """ConfigError (naming `key`) unless hls4ml can convert the model: simplified layers, linear outputs, ReLU head."""
    layer = model.layers[0]
    if not layer.simplified or not isinstance(layer.activation, nn.Identity):
        raise ConfigError(key, "hls4ml converts only GarNet with simplified: true and output_activation: linear")
    if any(isinstance(m, nn.Module) and not isinstance(m, (nn.Linear, nn.ReLU, nn.Dropout)) for m in model.head):
        raise ConfigError(key, "hls4ml firmware of a GarNet needs activation: relu in its head")


def layer_list(model: GarNet, n_vertices: int) -> tuple[list[dict[str, Any]], str]:
    """The hls4ml layer dicts of the model on sets of `n_vertices` slots of its features, and the output's name."""
    reader = TorchWeights(model)
    n_features = model.layers[0].input_transform.in_features
    inputs = [parse_input_layer({"class_name": "InputLayer", "config": {
        "name": name, "batch_input_shape": shape, "dtype": dtype}}, None, None, reader)
        for name, shape, dtype in (("x", [None, n_vertices, n_features], "float32"), ("nvtx", [None, 1], "uint16"))]
    config = {"name": STACK, "simplified": True, "output_activation": None, "input_format": "xn", "collapse": "mean",
              "mean_by_nvert": True, "quantize_transforms": False, "n_sublayers": len(model.layers),
              "n_aggregators": [layer.aggregator_distance.out_features for layer in model.layers],
              "n_propagate": [layer.input_transform.out_features for layer in model.layers],
              "n_filters": [layer.output_transform.out_features for layer in model.layers]}
    layer, shape = parse_garnet_layer({"class_name": "GarNetStack", "config": config}, ["x", "nvtx"],
                                      [inputs[0][1], inputs[1][1]], reader)
    layers, previous = [inputs[0][0], inputs[1][0], layer], STACK
    linears = head_linears(model)
    for index in range(len(linears)):
        dense, shape = parse_dense_layer({"class_name": "Dense", "config": {
            "name": f"dense{index}", "activation": "linear", "use_bias": True}}, [previous], [shape], reader)
        layers.append(dense)
        previous = f"dense{index}"
        if index + 1 < len(linears):
            relu, shape = parse_activation_layer({"class_name": "Activation", "config": {
                "name": f"relu{index}", "activation": "relu"}}, [previous], [shape], reader)
            layers.append(relu)
            previous = f"relu{index}"
    return layers, previous


def slots_for(n_vertices: int) -> int:
    """The vertex slots of the firmware: the next power of two, as hls4ml's GarNet divides by its vertex count with a
    shift by int(log2(n_vertices)) bits."""
    return 1 << max(1, math.ceil(math.log2(n_vertices)))


def layer_precisions(precision: FixedPoint, n_slots: int) -> dict[str, dict[str, dict[str, str]]]:
    """hls4ml's LayerName precisions: the element count as an integer; the GarNet's internal sums with the
    precision's fractional bits plus log2(slots) (they are shifted down by log2(slots) before the mean's
    normalisation multiplies them back by up to n_slots) and a normalisation type holding n_slots."""
    shift = int(math.log2(n_slots))
    fractional = max(precision.fractional, 10) + shift  # hls4ml's defaults carry 10 fractional bits
    return {"nvtx": {"Precision": {"result": "ap_uint<16>"}}, STACK: {"Precision": {
        "norm": f"ap_ufixed<{fractional + shift + 1},{shift + 1}>",
        "aggr": f"ap_fixed<{fractional + shift + 3},{shift + 3}>",
        "edge_weight_aggr": f"ap_ufixed<{fractional + shift},{shift}>",
        "edge_weight": f"ap_ufixed<{fractional},0>"}}}


def patch_project(output_dir: Path) -> None:
    """Apply PATCHES to the written project before g++ compiles it; RuntimeError if hls4ml's text has changed."""
    for relative, (old, new) in PATCHES.items():
        path = output_dir / relative
        text = path.read_text()
        if old not in text:
            raise RuntimeError(f"{path}: hls4ml's GarNet changed, '{old}' not found (rootml.firmware.garnet.PATCHES)")
        path.write_text(text.replace(old, new))


def value_ranges(model: GarNet, features: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """max |value| of the input, of the stack's collapsed output and of each head layer's output on the given sets
    (prepared layout), by hls4ml layer name (layer_list's names: dense<i>, then relu<i>)."""
    with torch.no_grad():
        h = model.stack(torch.from_numpy(features.astype(np.float32)), torch.from_numpy(mask.astype(np.float32)))
        ranges = {"x": float(np.abs(features).max(initial=0.0)), STACK: float(h.abs().max())}
        index = -1
        for module in model.head:
            h = module(h)
            if isinstance(module, nn.Linear):
                index += 1
                ranges[f"dense{index}"] = float(h.abs().max())
            elif isinstance(module, nn.ReLU):
                ranges[f"relu{index}"] = float(h.abs().max())
    return ranges


def value_kinds(ranges: Mapping[str, float]) -> dict[str, dict[str, dict[str, str]]]:
    """The precision kinds holding values of each profiled layer (hls4ml_emulation.layer_types' input layout)."""
    return {name: {"Precision": dict.fromkeys(("result", "accum") if name.startswith("dense") else ("result",), "")}
            for name in ranges}


def compile_garnet(model: GarNet, n_vertices: int, precision: FixedPoint, output_dir: Path, key: str,
                   types: Mapping[str, Mapping[str, str]] | None = None) -> ModelGraph:
    """hls4ml's compiled (g++) firmware of the GarNet on sets of up to `n_vertices` elements at `precision`; `types`
    (layer name -> precision kind -> C++ type, e.g. profiled widths) override it per layer."""
    check_convertible(model, key)
    layer_config = layer_precisions(precision, slots_for(n_vertices))
    for name, kinds in (types or {}).items():
        layer_config.setdefault(name, {"Precision": {}})["Precision"].update(kinds)
    layers, output = layer_list(model, slots_for(n_vertices))
    config = {"OutputDir": str(output_dir), "ProjectName": "rootml_garnet", "Backend": "Vitis",
              "Part": "xcvu13p-flga2577-2-e", "ClockPeriod": 5, "IOType": "io_parallel",
              "HLSConfig": {"Model": {"Precision": str(precision), "ReuseFactor": 1, "Strategy": "Latency"},
                            "LayerName": layer_config}}
    with captured_output("hls4ml GarNet conversion and compilation"):
        graph = ModelGraph.from_layer_list(config, layers, ["x", "nvtx"], [output])
        graph.write()
        patch_project(output_dir)
        graph._compile()  # compile() without its write(), which would undo the patch
    return graph


def emulate(graph: ModelGraph, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The firmware's outputs (B, n_outputs) on features (B, C, V) and mask (B, 1, V) in the prepared layout; the real
    elements must be the first of each set (as prepared sets are: pT-sorted, padded at the end)."""
    n_real = mask.sum(axis=(1, 2))
    if not n_real.all():
        raise ValueError("GarNet firmware needs at least one element per set: it divides by their count")
    if not np.array_equal(mask[:, 0], (np.arange(mask.shape[-1]) < n_real[:, None]).astype(mask.dtype)):
        raise ValueError("GarNet firmware needs the real elements of each set first, padding last")
    n_slots = graph.get_input_variables()[0].shape[0]
    x = np.zeros((len(features), n_slots, features.shape[1]), dtype=np.float32)
    x[:, :features.shape[2]] = features.transpose(0, 2, 1)
    with captured_output("hls4ml GarNet prediction"):
        out = graph.predict([x, n_real.astype(np.float32).reshape(-1, 1)])
    return np.asarray(out, dtype=np.float32).reshape(len(x), -1)


def garnet_forward(graph: ModelGraph, model: GarNet, features_key: str, mask_key: str) -> Forward:
    """Outputs (n, n_outputs) of the compiled GarNet firmware for a batch's set features and mask (bool (n, P) as
    read, or (n, 1, P)); an empty set, on which the firmware would divide by zero (SIGFPE), gets the float model's
    output (its head on the zero mean), as a trigger would not run the network on it."""

    def forward(batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """One batch through the emulation."""
        mask = batch[mask_key].astype(np.float32)
        mask = mask[:, None, :] if mask.ndim == 2 else mask
        features = np.asarray(batch[features_key], dtype=np.float32)
        filled = mask.any(axis=(1, 2))
        with torch.no_grad():
            outputs = model(torch.from_numpy(features), torch.from_numpy(mask)).numpy()
        if filled.any():
            outputs[filled] = emulate(graph, features[filled], mask[filled])
        return outputs

    return forward
