"""The paper reproductions (config/papers/*.yaml) plan their whole DAG; `scale` sets the generated chunks; the
per-model views are checked against the feature lists before any job; seed copies get a mean ± std table."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rootml.config import check_config, model_runs, sample_chunks
from rootml.errors import ConfigError
from rootml.evaluation.captions import expected_figures
from rootml.report import seeds_section
from rootml.settings import validated

PAPERS = ("top_landscape", "jedinet", "jet_images", "hls4ml_pruning")
PREVIEWS = ("top_landscape", "jedinet", "hls4ml_pruning")
REPO = Path(__file__).resolve().parents[1]


def paper(name: str) -> dict:
    """The paper config as written."""
    return yaml.safe_load((REPO / "config" / "papers" / f"{name}.yaml").read_text())


def trainings(stdout: str) -> int:
    """Training jobs of a dry run: torch models (rule train) and BDTs (rule train_bdt)."""
    return sum(job_count(stdout, rule) for rule in ("train", "train_bdt") if re.search(rf"^{rule}\s", stdout, re.M))


def overridden_keys(overlay: dict, base: dict, prefix: str = "") -> list[str]:
    """Dotted keys of `overlay` that `base` lacks (an overlay should only override)."""
    missing = []
    for key, value in overlay.items():
        if key not in base:
            missing.append(prefix + key)
        elif isinstance(value, dict):
            missing += overridden_keys(value, base[key], f"{prefix}{key}.")
    return missing


def merged(base: dict, overlay: dict) -> dict:
    """`overlay` merged into a copy of `base`, key by key, as Snakemake merges several --configfile."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) else value
    return out


def job_count(stdout: str, rule: str) -> int:
    """Number of jobs of `rule` in a dry run's job table."""
    match = re.search(rf"^{rule}\s+(\d+)$", stdout, re.MULTILINE)
    assert match, f"no {rule} jobs in:\n{stdout[-3000:]}"
    return int(match.group(1))


@pytest.mark.parametrize("name", PAPERS)
def test_paper_config_dry_run(run_snakemake, tmp_path: Path, name: str) -> None:
    config = validated(paper(name))
    result = run_snakemake(tmp_path, config, "--dry-run")
    assert result.returncode == 0, result.stdout[-5000:]
    chunks = sum(len(sample_chunks(config, sample)) for sample in config["samples"])
    assert job_count(result.stdout, "generate") == chunks
    assert chunks < sum(s["generate"]["chunks"] for s in config["samples"].values())  # laptop scale < 1
    assert trainings(result.stdout) == len(model_runs(config))
    assert job_count(result.stdout, "summary") == 1


def test_paper_config_replaces_the_default_config(run_snakemake, tmp_path: Path) -> None:
    # as in the repository root: config/config.yaml is there, and --configfile names a paper config
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    result = run_snakemake(tmp_path, paper("jet_images"), "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:]
    assert trainings(result.stdout) == 5  # cnn, cnn_film, tau21, mass, mass_tau21: none of the default run's models
    assert job_count(result.stdout, "generate") == 16


@pytest.mark.parametrize("name", PREVIEWS)
def test_preview_overlay_plans_a_smaller_run(run_snakemake, tmp_path: Path, name: str) -> None:
    raw = paper(name)
    overlay = yaml.safe_load((REPO / "config" / "papers" / "preview" / f"{name}.yaml").read_text())
    assert overridden_keys(overlay, raw) == []
    base, config = validated(raw), validated(merged(raw, overlay))
    check_config(config)
    papers = REPO / "config" / "papers"
    files = [str(papers / f"{name}.yaml"), str(papers / "preview" / f"{name}.yaml")]
    result = run_snakemake(tmp_path, {}, "--configfile", *files, "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:]
    chunks = sum(len(sample_chunks(config, sample)) for sample in config["samples"])
    assert job_count(result.stdout, "generate") == chunks < sum(len(sample_chunks(base, s)) for s in base["samples"])
    assert trainings(result.stdout) == len(model_runs(config))
    assert {run.model for run in model_runs(config).values()} == {run.model for run in model_runs(base).values()}


def test_scale_sets_the_generated_chunks() -> None:
    """The chunks each generated sample gets (the dry runs above check Snakemake plans exactly these)."""
    config = validated(paper("jet_images"))
    assert [len(sample_chunks(config, s)) for s in ("QCD", "W")] == [8, 8]  # 80 chunks x 0.1
    for scale, expected in ((1.0, 80), (0.25, 20), (0.025, 2), (0.0001, 1), (0.0125, 1), (0.01875, 2)):
        assert len(sample_chunks({**config, "scale": scale}, "W")) == expected
    assert len(sample_chunks(validated({k: v for k, v in config.items() if k != "scale"}), "W")) == 80  # default 1.0
    with pytest.raises(ConfigError, match="'scale': 0 is less than or equal to the minimum of 0"):
        validated({**config, "scale": 0})


@pytest.mark.parametrize(
    ("model", "entry", "key"),
    [
        ("mass", {"family": "bdt", "features": ["jet_c2_b2"]}, "models.mass.features"),
        ("cnn", {"family": "deepsets", "n_particles": 65}, "models.cnn.n_particles"),
    ],
)
def test_model_views_checked_against_feature_lists(model: str, entry: dict, key: str) -> None:
    config = validated(paper("jet_images"))
    check_config(config)
    config["models"][model] = entry
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert error.value.key == key


def test_per_class_roc_figure_only_with_more_than_two_classes() -> None:
    models = {name: run.as_dict() for name, run in model_runs(paper("jedinet")).items()}
    assert "roc_per_class" in expected_figures(models, ["t"], ["g", "q"], [0.5], classes=["g", "q", "W", "Z", "t"])
    assert "roc_per_class" not in expected_figures(models, ["t"], ["g"], [0.5], classes=["g", "t"])


def test_seeds_section_mean_and_std_over_copies() -> None:
    metrics = pd.DataFrame({
        "model": ["pfn_s0", "pfn_s1", "pfn_s2", "bdt", "ae_s0"], "task": ["classification"] * 4 + ["anomaly"],
        "auc_sb": [0.90, 0.92, 0.94, 0.8, 0.7], "accuracy": [0.8, 0.8, 0.8, 0.7, 0.6],
        "rejection_30": [100.0, 120.0, 140.0, 50.0, 2.0],
    })
    text = "\n".join(seeds_section(metrics))
    row = next(line for line in text.splitlines() if line.startswith("| pfn"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == ["pfn", "3", "0.920 ± 0.020", "0.8 ± 0", "120 ± 20"]
    assert "bdt" not in text and "ae" not in text and "1/ε_B at ε_S = 30%" in text
    assert seeds_section(metrics[~metrics["model"].str.startswith("pfn")]) == []


def test_seeds_section_gives_a_lower_limit_where_no_background_is_left() -> None:
    metrics = pd.DataFrame({
        "model": ["bdt_s0", "bdt_s1"], "task": ["classification"] * 2, "auc_sb": [0.98, 0.99],
        "rejection_30": [np.inf, 800.0], "rejection_30_limit": [1000.0, np.nan],
    })
    row = next(line for line in seeds_section(metrics)[2].splitlines() if line.startswith("| bdt"))
    assert [cell.strip() for cell in row.strip("|").split("|")][-1] == "> 900"


def test_docs_figures_exist() -> None:
    """Every figure docs/papers.md shows is in the repository (copied from a preview run into docs/figures/)."""
    text = (REPO / "docs" / "papers.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 4
    assert [link for link in links if not (REPO / "docs" / link).is_file()] == []
