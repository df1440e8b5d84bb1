"""End to end: `snakemake` generates and ingests a tiny config; the parquet files hold what the config asked."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

CLASSES = ["q", "W", "t"]
JETS = 120
TINY = {
    "seed": 4,
    "classes": CLASSES,
    "generate": {"pt_min": 450.0, "pt_max": 650.0, "abs_eta_max": 1.5},
    "samples": {
        "q": {"label": "q", "generate": {"process": "quark", "chunks": 1, "jets_per_chunk": JETS}},
        "W": {"label": "W", "generate": {"process": "wqq", "chunks": 1, "jets_per_chunk": JETS}},
        "t": {"label": "t", "generate": {"process": "tbqq", "chunks": 2, "jets_per_chunk": JETS // 2}},
    },
}
TARGETS = [f"data/ingested/{s}/{c}.parquet" for s, c in [("q", "0000"), ("W", "0000"), ("t", "0000"), ("t", "0001")]]


@pytest.fixture(scope="module")
def ingested(run_snakemake, tmp_path_factory) -> dict[str, ak.Array]:
    """The tiny config run through generate and ingest; the parquet contents per sample."""
    workdir = tmp_path_factory.mktemp("tiny")
    result = run_snakemake(workdir, TINY, *TARGETS)
    assert result.returncode == 0, result.stdout
    out = {}
    for sample in TINY["samples"]:
        files = sorted((workdir / "data" / "ingested" / sample).glob("*.parquet"))
        out[sample] = ak.concatenate([ak.from_parquet(f) for f in files])
    out["workdir"] = workdir
    return out


def test_every_class_has_its_jets_and_labels(ingested) -> None:
    for index, sample in enumerate(CLASSES):
        jets = ingested[sample]
        assert len(jets) == JETS
        assert np.all(ak.to_numpy(jets.label) == index)
        np.testing.assert_array_equal(ak.to_numpy(jets.weight), 1.0)
    ids = np.concatenate([ak.to_numpy(ingested[s].event_id) for s in CLASSES])
    assert len(np.unique(ids)) == len(ids)


def test_kinematic_cuts_of_the_config_hold(ingested) -> None:
    for sample in CLASSES:
        pt, eta = ak.to_numpy(ingested[sample].jet_pt), ak.to_numpy(ingested[sample].jet_eta)
        assert np.all((pt > 450) & (pt < 650)) and np.all(np.abs(eta) < 1.5)
        np.testing.assert_array_equal(ak.to_numpy(ingested[sample].jet_nparticles), ak.num(ingested[sample].part_px))


def test_truth_matching_shows_in_the_mass_peaks(ingested) -> None:
    sdmass = {s: ak.to_numpy(ingested[s].jet_sdmass) for s in CLASSES}
    assert 70 < np.median(sdmass["W"]) < 90
    assert 150 < np.median(sdmass["t"]) < 190
    assert np.median(sdmass["q"]) < 60
    # two-prong W jets have smaller tau21 than one-prong quark jets
    tau21 = {s: ak.to_numpy(ingested[s].jet_tau2 / ingested[s].jet_tau1) for s in ("q", "W")}
    assert np.median(tau21["W"]) < np.median(tau21["q"]) - 0.1


def test_pythia_output_went_to_the_rule_logs(ingested) -> None:
    log = ingested["workdir"] / "logs" / "generate" / "W" / "0000.log"
    assert "Pythia" in log.read_text() or "PYTHIA" in log.read_text()
