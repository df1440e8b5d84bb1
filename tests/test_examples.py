"""Every example config (config/examples/*.yaml) runs end to end on the real files of ../shared/data: every model is
trained and evaluated, and the ranking tables and input plots carry the user's own feature names."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import EXAMPLES, example_config

pytestmark = pytest.mark.slow  # runs the real Snakemake workflow


@pytest.fixture(params=[path.stem for path in EXAMPLES])
def example(request: pytest.FixtureRequest, example_runs: dict) -> tuple[dict, Path]:
    """(config, working folder) of one finished example run."""
    run, workdir = example_runs[request.param]
    result = run.result()
    assert result.returncode == 0, result.stdout[-5000:]
    return example_config(Path(__file__).resolve().parents[1] / "config" / "examples" / f"{request.param}.yaml"), \
        workdir


def test_every_model_is_trained_and_evaluated(example: tuple[dict, Path]) -> None:
    config, workdir = example
    metrics = pd.read_csv(workdir / "results" / "evaluation" / "metrics.csv").set_index("model")
    assert list(metrics.index) == list(config["models"])
    assert metrics["auc_sb"].between(0, 1).all()
    summary = (workdir / "results" / "summary.md").read_text()
    assert all(f"| {name}" in summary for name in config["models"])
    for model in config["ranking"].get("models") or config["models"]:
        assert (workdir / "results" / "ranking" / model / "ranking.json").is_file()


def test_ranking_and_input_plots_use_the_users_feature_names(example: tuple[dict, Path]) -> None:
    config, workdir = example
    highlevel = config["features"]["highlevel"]
    for model in config["ranking"].get("models") or config["models"]:
        ranking = json.loads((workdir / "results" / "ranking" / model / "ranking.json").read_text())
        if ranking["feature_keys"] == ["highlevel"]:
            comparison = pd.read_csv(workdir / "results" / "ranking" / model / "comparison.csv", index_col=0)
            assert sorted(comparison.index) == sorted(highlevel)
    plots = workdir / "results" / "plots" / "inputs"
    set_features = [f for block in (config["features"].get("sets") or {}).values() for f in block["features"]]
    for name in [*highlevel, *set_features]:
        assert (plots / f"{name}.png").stat().st_size > 1000, name


def test_rows_are_what_the_sample_says(example: tuple[dict, Path]) -> None:
    """Event samples give one row per event with their sets as lists; jet samples one row per jet."""
    config, workdir = example
    for name, sample in config["samples"].items():
        table = pq.read_table(sorted((workdir / "data" / "ingested" / name).glob("*.parquet"))[0])
        for set_name in sample.get("sets", {}):
            columns = [c for c in table.column_names if c.startswith(f"{set_name}_")]
            assert columns and all(str(table.schema.field(c).type).startswith("list") for c in columns), set_name
        if "collection" not in sample:
            assert set(table.column("jet_index").to_pylist()) == {0}
