"""conifer: an XGBoost booster -> conifer's C++ emulation of the BDT firmware at a fixed-point precision (the 'cpp'
backend: the ensemble read from JSON into ap_fixed thresholds and scores), compiled with g++; no vendor tool.

What the cpp backend needs offline: the ap_types headers (hls4ml ships them with its Vivado templates; conifer takes
them from XILINX_AP_INCLUDE) and nlohmann/json (the nlohmann-json wheel; conifer only looks for it inside its own
package, so g++ is pointed at it through CPLUS_INCLUDE_PATH). conifer's Xilinx HLS backend compiles the firmware
source itself, but that took more than 10 minutes of g++ -O3 for the default run's 315 trees; the cpp backend's
compile does not depend on the ensemble's size.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from rootml.firmware.fixed_point import FixedPoint
from rootml.firmware.settings import FirmwareSettings
from rootml.training.inference import Forward
from rootml.training.objectives import Classification, Objective

log = logging.getLogger(__name__)

PROJECT = "rootml_bdt"


def ap_types_include() -> Path:
    """hls4ml's bundled Xilinx ap_types headers (ap_fixed.h)."""
    import hls4ml

    return Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"


def json_include() -> Path:
    """The nlohmann/json headers of the nlohmann-json wheel (located without importing its package, whose
    __init__ needs importlib_resources)."""
    return Path(str(metadata.distribution("nlohmann-json").locate_file("nlohmann_json/include")))


@contextlib.contextmanager
def compile_environment() -> Iterator[None]:
    """Environment of a conifer compile: XILINX_AP_INCLUDE (unless set: a Vivado/Vitis install's headers win) and
    the json headers on CPLUS_INCLUDE_PATH; conifer's warning that its own json copy is missing is silenced."""
    saved = {name: os.environ.get(name) for name in ("XILINX_AP_INCLUDE", "CPLUS_INCLUDE_PATH")}
    os.environ.setdefault("XILINX_AP_INCLUDE", str(ap_types_include()))
    os.environ["CPLUS_INCLUDE_PATH"] = os.pathsep.join(filter(None, [str(json_include()),
                                                                     saved["CPLUS_INCLUDE_PATH"]]))
    misc = logging.getLogger("conifer.utils.misc")
    level = misc.level
    misc.setLevel(logging.ERROR)
    try:
        yield
    finally:
        misc.setLevel(level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def margins(booster: xgb.Booster, inputs: np.ndarray) -> np.ndarray:
    """XGBoost's raw scores (n, 1 or n_classes): per class, the intercept plus the sum of the trees' leaf values."""
    raw = np.asarray(booster.inplace_predict(np.ascontiguousarray(inputs, dtype=np.float32), predict_type="margin"),
                     dtype=np.float64)
    return raw.reshape(len(inputs), -1)


def intercept(booster: xgb.Booster) -> list[float]:
    """The booster's intercept per output, in margin space: its margin minus its margin with a zero base margin.

    Measured, not read: conifer 1.11 takes the logit of XGBoost's base_score for multi:softprob, but XGBoost 3
    stores that one already as a margin (the logit of a negative value gives NaN and a broken JSON file).
    """
    row = np.zeros((1, booster.num_features()), dtype=np.float32)
    full = booster.predict(xgb.DMatrix(row), output_margin=True).reshape(1, -1)
    trees = booster.predict(xgb.DMatrix(row, base_margin=np.zeros_like(full)), output_margin=True).reshape(1, -1)
    return (full - trees)[0].astype(np.float64).tolist()


def ensemble_of(booster: xgb.Booster) -> dict[str, Any]:
    """conifer's ensemble dictionary of the booster (its xgboost converter) with the measured intercept."""
    from conifer.converters import get_converter

    ensemble = get_converter("xgboost").convert(booster)
    ensemble["init_predict"] = intercept(booster)
    return ensemble


def value_ranges(ensemble: Mapping[str, Any], booster: xgb.Booster, inputs: np.ndarray) -> dict[str, float]:
    """max |value| of the inputs and thresholds (one C++ type) and of the scores (leaf values, intercept, the
    float margins on `inputs`)."""
    thresholds = [abs(t) for trees in ensemble["trees"] for tree in trees
                  for t, f in zip(tree["threshold"], tree["feature"]) if f >= 0]
    leaves = [abs(v) for trees in ensemble["trees"] for tree in trees
              for v, f in zip(tree["value"], tree["feature"]) if f < 0]
    return {"input": max([float(np.abs(inputs).max(initial=0.0)), *thresholds]),
            "score": max([float(np.abs(margins(booster, inputs)).max(initial=0.0)), *leaves,
                          *map(abs, ensemble["init_predict"])])}


def bdt_types(precision: FixedPoint, ranges: Mapping[str, float], options: FirmwareSettings) -> dict[str, str]:
    """conifer's precisions (input = threshold, as its cpp backend requires; score): the scan's `precision`, widened
    to the profiled ranges; the one-hot split weights keep conifer's default (the threshold type)."""
    if options.integer_bits == "profiled":
        inputs = precision.widened(ranges["input"], options.headroom_bits)
        score = precision.widened(ranges["score"], options.headroom_bits)
    else:
        inputs = score = precision
    return {"InputPrecision": str(inputs), "ThresholdPrecision": str(inputs), "ScorePrecision": str(score)}


def compile_ensemble(ensemble: Mapping[str, Any], types: Mapping[str, str], build_dir: Path) -> Any:
    """conifer's cpp-backend model of `ensemble` with `types`, written to `build_dir` and compiled with g++."""
    from conifer.model import make_model

    config = {"Backend": "cpp", "OutputDir": str(build_dir), "ProjectName": PROJECT, **types}
    model = make_model(copy.deepcopy(dict(ensemble)), config)
    with compile_environment():
        model.compile()
    return model


def to_outputs(raw: np.ndarray, objective: Objective) -> np.ndarray:
    """Raw scores (n, k) in the objective's output space: logits (one binary margin m -> [0, m]; the softmax of
    either gives XGBoost's probabilities), or the standardized target (n, 1)."""
    raw = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
    if isinstance(objective, Classification) and raw.shape[1] == 1:
        raw = np.concatenate([np.zeros_like(raw), raw], axis=1)
    return raw.astype(np.float32)


def float_forward(booster: xgb.Booster, objective: Objective) -> Forward:
    """The booster's outputs (to_outputs of its margins) for a batch's high-level features."""
    return lambda batch: to_outputs(margins(booster, batch["highlevel"]), objective)


def emulated_forward(model: Any, objective: Objective) -> Forward:
    """The compiled emulation's outputs (to_outputs of its scores) for a batch's high-level features."""
    return lambda batch: to_outputs(model.decision_function(np.asarray(batch["highlevel"], dtype=np.float64)),
                                    objective)


def emulate_booster(ensemble: Mapping[str, Any], objective: Objective, precision: FixedPoint,
                    ranges: Mapping[str, float], options: FirmwareSettings,
                    build_dir: Path) -> tuple[Forward, dict[str, str], float]:
    """(forward of the compiled emulation, its types, seconds to write and compile) at `precision`."""
    start = time.perf_counter()
    types = bdt_types(precision, ranges, options)
    model = compile_ensemble(ensemble, types, build_dir)
    return emulated_forward(model, objective), types, time.perf_counter() - start
