"""GarNet firmware: hls4ml's GarNetStack built from the torch weights, compiled with g++, agrees with torch on a few
hundred jets of varying element counts; models hls4ml cannot convert are ConfigErrors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hls4ml.model import ModelGraph

from rootml.errors import ConfigError
from rootml.firmware.fixed_point import FixedPoint
from rootml.firmware.garnet import compile_garnet, emulate, garnet_forward, slots_for
from rootml.models.garnet import GarNet
from rootml.models.registry import build_model

N_SLOTS, N_FEATURES = 12, 5  # 12 slots: the firmware pads them to 16


@pytest.fixture(scope="module")
def model() -> GarNet:
    """A small untrained two-layer simplified GarNet with three outputs."""
    torch.manual_seed(0)
    return build_model("garnet", {"features": N_FEATURES}, 3, seed=1, n_aggregators=[2, 2], n_propagate=[4, 4],
                       n_filters=[8, 8], fc_params=[8]).eval()


@pytest.fixture(scope="module")
def graph(model: GarNet, tmp_path_factory: pytest.TempPathFactory) -> ModelGraph:
    """The model's firmware at ap_fixed<24,12>, compiled once for the module."""
    return compile_garnet(model, N_SLOTS, FixedPoint.parse("ap_fixed<24,12>"), tmp_path_factory.mktemp("hls"),
                          "models.garnet")


def firmware_and_torch(graph: ModelGraph, model: GarNet, n_real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs of the compiled firmware and of torch on jets with `n_real` elements each (padding at the end)."""
    torch.set_num_threads(1)
    mask = (np.arange(N_SLOTS)[None] < n_real[:, None]).astype(np.float32)[:, None, :]
    features = (np.random.default_rng(0).normal(size=(len(n_real), N_FEATURES, N_SLOTS)) * mask).astype(np.float32)
    with torch.no_grad():
        return emulate(graph, features, mask), model(torch.from_numpy(features), torch.from_numpy(mask)).numpy()


@pytest.mark.parametrize("n_real", [1, 3, 5, 8, 12])
def test_firmware_matches_torch_at_each_element_count(graph: ModelGraph, model: GarNet, n_real: int) -> None:
    """With every jet holding `n_real` elements (counts that do not divide the 16 slots too: hls4ml divided by them in
    integers, 16 / 3 = 5, before rootml patched it) the firmware tracks torch: correlation > 0.98 per output, mean
    difference under 2% of the outputs' spread (10 fractional bits of GarNet weights, hls4ml's exp lookup table)."""
    firmware, reference = firmware_and_torch(graph, model, np.full(200, n_real))
    assert all(np.corrcoef(firmware[:, c], reference[:, c])[0, 1] > 0.98 for c in range(3))
    assert np.abs(firmware - reference).mean() < 0.02 * reference.std()


def test_firmware_matches_torch_at_varying_element_counts(graph: ModelGraph, model: GarNet) -> None:
    """On 300 jets of 1 to 12 real elements the firmware tracks torch as well."""
    firmware, reference = firmware_and_torch(graph, model, np.random.default_rng(1).integers(1, N_SLOTS + 1, 300))
    assert all(np.corrcoef(firmware[:, c], reference[:, c])[0, 1] > 0.98 for c in range(3))
    assert np.abs(firmware - reference).mean() < 0.02 * reference.std()


def test_padding_first_is_refused(graph: ModelGraph) -> None:
    """A set with padding before a real element cannot go through the firmware (it reads the first n elements)."""
    mask = np.ones((1, 1, N_SLOTS), dtype=np.float32)
    mask[0, 0, 0] = 0.0
    with pytest.raises(ValueError, match="real elements of each set first"):
        emulate(graph, np.zeros((1, N_FEATURES, N_SLOTS), dtype=np.float32), mask)


def test_empty_sets_get_the_float_output(graph: ModelGraph, model: GarNet) -> None:
    """emulate refuses an empty set (the firmware would divide by zero and kill the process); garnet_forward gives
    it the float model's output and emulates the others."""
    mask = (np.arange(N_SLOTS)[None] < np.array([0, 4, 0, 9])[:, None])
    features = (np.random.default_rng(2).normal(size=(4, N_FEATURES, N_SLOTS)) * mask[:, None, :]).astype(np.float32)
    with pytest.raises(ValueError, match="at least one element"):
        emulate(graph, features, mask[:, None, :].astype(np.float32))
    outputs = garnet_forward(graph, model, "features", "mask")({"features": features, "mask": mask})
    with torch.no_grad():
        reference = model(torch.from_numpy(features), torch.from_numpy(mask[:, None, :].astype(np.float32))).numpy()
        empty = model(torch.zeros(1, N_FEATURES, N_SLOTS), torch.zeros(1, 1, N_SLOTS)).numpy()
    np.testing.assert_allclose(outputs[[0, 2]], np.repeat(empty, 2, axis=0), rtol=1e-6)
    np.testing.assert_array_equal(outputs[[1, 3]], emulate(graph, features[[1, 3]], mask[[1, 3], None, :] * 1.0))
    assert np.abs(outputs[[1, 3]] - reference[[1, 3]]).max() < 0.01 and not np.array_equal(outputs, reference)


def test_slots_are_a_power_of_two() -> None:
    """hls4ml's GarNet shifts by log2 of its slot count: 12 and 16 slots -> 16, 50 -> 64, 1 -> 2."""
    assert [slots_for(n) for n in (12, 16, 50, 1)] == [16, 16, 64, 2]


def test_unconvertible_variant_names_the_key(tmp_path: Path) -> None:
    """The full (not simplified) GarNet cannot be converted: ConfigError naming the model's key."""
    model = build_model("garnet", {"features": N_FEATURES}, 2, simplified=False)
    with pytest.raises(ConfigError, match="simplified") as error:
        compile_garnet(model, N_SLOTS, FixedPoint.parse("ap_fixed<16,6>"), tmp_path / "hls", "models.g")
    assert error.value.key == "models.g"
