"""Every config default lives in config/schema.yaml alone: each block's typed settings have exactly the schema's keys,
no defaults of their own, and resolve to the schema's defaults; a partial block is completed and checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from rootml.config import model_run
from rootml.errors import ConfigError
from rootml.evaluation.settings import EvaluateSettings
from rootml.firmware.settings import FirmwareSettings
from rootml.generate.settings import GenerateSettings
from rootml.pruning.settings import PruningSettings
from rootml.quantize.settings import QuantizationSettings
from rootml.ranking.settings import RankingSettings
from rootml.settings import Settings, resolve_block
from rootml.training.settings import TrainingSettings
from rootml.unsupervised.settings import ExploreSettings

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml").read_text())
BLOCKS = [GenerateSettings, TrainingSettings, PruningSettings, RankingSettings, EvaluateSettings, ExploreSettings,
          FirmwareSettings, QuantizationSettings]


def defaults_of(properties: dict) -> dict:
    """key -> default of an object's properties, read straight from the schema file (nested objects filled in)."""
    return {key: {**spec["default"], **defaults_of(spec["properties"])}
            if "properties" in spec and spec["default"] is not None else spec["default"]  # an optional block: null
            for key, spec in properties.items() if "default" in spec}


def schema_defaults(block: str) -> dict:
    """key -> default of a top-level block."""
    return defaults_of(SCHEMA["properties"][block]["properties"])


def test_every_settings_class_is_checked_here() -> None:
    assert {cls.BLOCK for cls in Settings.__subclasses__()} == {cls.BLOCK for cls in BLOCKS}


@pytest.mark.parametrize("cls", BLOCKS, ids=lambda cls: cls.BLOCK)
def test_settings_have_the_schema_keys_and_no_defaults_of_their_own(cls: type[Settings]) -> None:
    properties = SCHEMA["properties"][cls.BLOCK]["properties"]
    assert cls.field_names() == list(properties) or set(cls.field_names()) == set(properties)
    for field in dataclasses.fields(cls):
        assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING, field.name


@pytest.mark.parametrize("cls", [GenerateSettings, TrainingSettings, PruningSettings, RankingSettings],
                         ids=lambda cls: cls.BLOCK)
def test_an_empty_block_gets_the_schema_defaults(cls: type[Settings]) -> None:
    assert dataclasses.asdict(cls.from_config({})) == schema_defaults(cls.BLOCK)


def test_evaluation_defaults_its_classes_from_the_run() -> None:
    settings = EvaluateSettings.for_run({}, ["g", "q", "t"], ["jet_pt"])
    assert settings.signal == ["t"] and settings.background == ["g", "q"]
    defaults = schema_defaults("evaluate")
    assert {key: value for key, value in dataclasses.asdict(settings).items() if key in defaults} == defaults
    assert EvaluateSettings.for_run({"signal": ["q"]}, ["g", "q", "t"], []).background == ["g", "t"]
    assert EvaluateSettings.for_run({}, ["g", "t"], ["jet_pt", "jet_mass"]).sculpting["observable"] == "jet_mass"


def test_a_partial_block_is_completed_and_checked() -> None:
    pruning = PruningSettings.from_config({"sparsities": [0.8]})
    assert pruning.sparsities == [0.8] and pruning.fine_tune_epochs == schema_defaults("pruning")["fine_tune_epochs"]
    with pytest.raises(ConfigError, match="'pruning.fine_tune_epoch': unknown key.*did you mean 'fine_tune_epochs'"):
        PruningSettings.from_config({"fine_tune_epoch": 2})
    with pytest.raises(ConfigError, match="'ranking.max_jets': 0 is less than the minimum of 1"):
        RankingSettings.from_config({"max_jets": 0})
    assert resolve_block("pruning", {"sparsities": [0.8]}) == dataclasses.asdict(pruning)


def test_a_models_training_overrides_the_run_defaults_naming_its_key() -> None:
    config = {"seed": 1, "classes": ["a", "b"], "training": {"epochs": 3, "lr": 0.01}}
    run = model_run("m", {"family": "mlp", "training": {"epochs": 7}}, config)
    assert (run.training.epochs, run.training.lr) == (7, 0.01)
    assert run.training.batch_size == schema_defaults("training")["batch_size"]
    assert run.hparams["hidden"] == [64, 64, 64] and run.task == "classification"
    with pytest.raises(ConfigError) as error:
        model_run("m", {"family": "mlp", "training": {"epochs": 0}}, config)
    assert error.value.key == "models.m.training.epochs"
    with pytest.raises(ConfigError) as error:
        TrainingSettings.resolve({"schedule": "linear"}, {}, "models.m.training")
    assert error.value.key == "training.schedule"
