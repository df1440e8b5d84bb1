"""The firmware emulation settings (the config's `firmware` block) and the model runs it emulates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rootml.config import ModelRun
from rootml.errors import ConfigError, did_you_mean
from rootml.settings import Settings

KEY = "firmware.models"
# The one-input torch models hls4ml's PyTorch frontend is given: what they read (a set family reads several inputs)
HLS4ML_INPUTS = ("highlevel",)


@dataclass(frozen=True)
class FirmwareSettings(Settings):
    """Precision scan, hls4ml options and the jets emulated (config/schema.yaml documents each key)."""

    BLOCK = "firmware"

    models: list[str]
    precisions: list[str]
    integer_bits: str
    headroom_bits: int
    profile_split: str
    rounding: str
    overflow: str
    backend: str
    io_type: str
    strategy: str
    reuse_factor: int
    eval_split: str
    max_jets: int | None
    tolerance: float
    num_threads: int | None



def tool_of(run: ModelRun) -> str:
    """'conifer' for a BDT, 'hls4ml' for a supported torch model (an MLP on highlevel, a simplified GarNet on a set);
    ConfigError naming firmware.models otherwise."""
    if run.family == "bdt":
        return "conifer"
    if run.task == "anomaly":
        raise ConfigError(KEY, f"'{run.model}' is an anomaly detector: its score is computed outside the network "
                               "(a reconstruction error), which hls4ml does not convert")
    if run.family == "garnet":
        hp = run.hparams
        if not hp["simplified"] or hp["output_activation"] != "linear" or hp["activation"] != "relu":
            raise ConfigError(KEY, f"'{run.model}': hls4ml converts only a GarNet with simplified: true, "
                                   "output_activation: linear and activation: relu (rootml.firmware.garnet)")
        return "hls4ml"
    if list(run.representations) != list(HLS4ML_INPUTS):
        raise ConfigError(KEY, f"'{run.model}' (family '{run.family}') reads {run.representations}; hls4ml emulation "
                               f"takes torch models on {list(HLS4ML_INPUTS)} (family mlp), simplified GarNets and "
                               "BDTs")
    return "hls4ml"


def firmware_runs(models: Sequence[str], runs: Mapping[str, ModelRun]) -> list[str]:
    """The model runs to emulate: the primary run of each entry of firmware.models (checked to be emulable)."""
    entries = {run.model for run in runs.values()}
    chosen = []
    for name in models:
        if name not in entries:
            raise ConfigError(KEY, f"'{name}' is not a model entry; models: {sorted(entries)}"
                                   f"{did_you_mean(name, entries)}")
        run_name, run = next((key, run) for key, run in runs.items() if run.model == name and run.primary)
        tool_of(run)
        chosen.append(run_name)
    return chosen
