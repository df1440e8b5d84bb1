"""Per-sample detector choice: samples.<name>.generate.simulate overrides generate.simulate, checked by the schema."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import uproot

from rootml.config import check_config
from rootml.errors import ConfigError
from rootml.generate import generate_chunk
from rootml.generate.settings import GenerateSettings
from rootml.job import job_logging
from rootml.settings import validated

CONFIG = {
    "classes": ["q", "w"],
    "generate": {"simulate": "cms"},
    "samples": {"q": {"label": "q", "generate": {"process": "quark", "simulate": "atlas"}},
                "w": {"label": "w", "generate": {"process": "wqq", "simulate": None}}},
}


def test_a_sample_overrides_the_generate_block() -> None:
    settings = GenerateSettings.from_config(CONFIG["generate"])
    assert settings.for_sample({"simulate": "atlas"}).simulate == "atlas"
    assert settings.for_sample({"simulate": None}).simulate is None
    assert settings.for_sample(None) == settings
    with pytest.raises(ConfigError, match=r"samples\.generate\.pt_min"):
        settings.for_sample({"pt_min": 100.0})


def test_the_schema_checks_the_samples_card() -> None:
    check_config(validated(CONFIG))
    bad = copy.deepcopy(CONFIG)
    bad["samples"]["q"]["generate"]["simulate"] = "lhcb"
    with pytest.raises(ConfigError, match=r"samples\.q\.generate\.simulate"):
        check_config(validated(bad))


def test_a_generator_level_sample_in_a_simulated_run(tmp_path: Path) -> None:
    out = tmp_path / "w.root"
    with job_logging(tmp_path / "w.log"):
        generate_chunk(out, process="wqq", n_jets=2, seed=5, label="w", classes=["q", "w"], progress=False,
                       settings=GenerateSettings.from_config(CONFIG["generate"]), overrides={"simulate": None})
    branches = set(uproot.open(out)["tree"].keys())
    assert "part_px" in branches
    assert not any(name.startswith(("gen_jet_", "cell_")) for name in branches)
