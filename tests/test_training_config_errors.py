"""Wrong training configs and mismatched data stop before training, naming the config key or the file."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from conftest import split_reader, train
from rootml.errors import ConfigError, InputError
from rootml.training.device import CPU
from rootml.training.load import load_trained
from test_training_data import CLASSES, features_block, write_prepared

CONFIG = {"seed": 1, "classes": CLASSES, "training": {"epochs": 1, "batch_size": 32},
          "features": features_block("part", "sv", "hits")}
MLP = {"family": "mlp", "hparams": {"hidden": [4]}}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small synthetic prepared splits."""
    return write_prepared(tmp_path_factory.mktemp("errors"), {"train": 64, "val": 32, "test": 32})


@pytest.mark.parametrize("entry,config,key", [
    ({**MLP, "training": {"epochz": 3}}, CONFIG, "models.m.training.epochz"),
    (MLP, {**CONFIG, "training": {"schedule": "linear"}}, "training.schedule"),
    ({**MLP, "training": {"class_weights": [1.0, 2.0]}}, CONFIG, "models.m.training.class_weights"),
    ({**MLP, "task": "anomaly", "background": ["g"]}, CONFIG, "models.m.task"),
    ({"family": "autoencoder", "task": "anomaly", "background": ["g", "q", "t"]}, CONFIG, "models.m.background"),
    ({"family": "autoencoder", "task": "anomaly", "background": ["x"]}, CONFIG, "models.m.background"),
    ({**MLP, "task": "regression"}, CONFIG, "models.m.target"),
    ({**MLP, "task": "regression", "target": "jet_charge"}, CONFIG, "models.m.target"),
    ({"family": "bdt", "task": "regression", "target": "jet_mass", "loss": "gaussian"}, CONFIG, "models.m.loss"),
    ({"family": "mlp", "hparams": {"hiden": [4]}}, CONFIG, "models.m.hparams.hiden"),
    ({"family": "gnn"}, CONFIG, "models.m.family"),
], ids=["unknown_setting", "schedule", "class_weights", "anomaly_not_ae", "all_background", "unknown_background",
        "no_target", "target_not_observer", "bdt_gaussian", "hparam", "family"])
def test_config_errors_name_the_key(data: Path, tmp_path: Path, entry: dict, config: dict, key: str) -> None:
    """ConfigError carries the full key path; nothing is written."""
    with pytest.raises(ConfigError) as error:
        train("m", entry, config, data, tmp_path / "m", device=CPU, progress=False)
    assert error.value.key == key
    assert not (tmp_path / "m" / "metrics.json").exists()


@pytest.mark.parametrize("entry,config,key,message", [
    ({"family": "deepsets", "sets": ["part", "muons"]}, CONFIG, "models.m.sets",
     r"'muons' is not a set of features.sets \['part', 'sv', 'hits'\]"),
    ({"family": "particlenet", "sets": ["part", "hits"]}, CONFIG, "models.m.sets",
     r"as many coordinates each: \{'part': \['part_deta', 'part_dphi'\], 'hits': \['hits_x', 'hits_y', 'hits_z'\]\}"),
    ({"family": "particlenet"}, CONFIG, "models.m.sets", "as many coordinates each"),
    ({**MLP, "sets": ["part"]}, CONFIG, "models.m.sets", "applies to models on the set inputs"),
    ({"family": "transformer"}, {**CONFIG, "features": {"sets": {}}}, "models.m.family",
     "family 'transformer' reads sets, and features.sets configures none"),
], ids=["unknown_set", "coordinates_differ", "all_sets_coordinates_differ", "sets_of_mlp", "no_set"])
def test_set_errors_name_the_key(tmp_path: Path, entry: dict, config: dict, key: str, message: str) -> None:
    """A set the config does not have, sets of different coordinate counts for ParticleNet's one graph, `sets` on a
    model of high-level features, a set family without sets: ConfigError naming the key, before any data is read."""
    with pytest.raises(ConfigError, match=message) as error:
        train("m", entry, config, tmp_path / "nothing", tmp_path / "m", device=CPU, progress=False)
    assert error.value.key == key


def test_data_errors_name_the_file(data: Path, tmp_path: Path) -> None:
    """Other classes than the config or another file, a missing split, no trained model: InputError naming the file."""
    with pytest.raises(InputError, match=r"classes \['g', 'q', 't'\].*config's classes are \['g', 'q', 'W'\]"):
        train("m", MLP, {**CONFIG, "classes": ["g", "q", "W"]}, data, tmp_path / "a", device=CPU)
    other = write_prepared(tmp_path / "other", {"train": 40, "val": 20})
    with pytest.raises(InputError, match="test/highlevel.h5"):
        train("m", MLP, CONFIG, other, tmp_path / "b", device=CPU)
    with h5py.File(other / "train" / "images.h5", "r+") as h5:
        h5.attrs["classes"] = json.dumps(["g", "q"])
    with pytest.raises(InputError, match=r"classes \['g', 'q'\] differ.*images.h5"):
        split_reader(other, "train", ["highlevel", "images"], 100)
    with pytest.raises(InputError, match="model_config.json of the trained model not found.*nothing"):
        load_trained(tmp_path / "nothing" / "model_config.json", tmp_path / "nothing" / "model.pt")
