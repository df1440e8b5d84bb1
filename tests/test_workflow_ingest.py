"""End to end: the shared tiny run (tests/configs/tiny.yaml) generated and ingested what its config asked."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from conftest import TINY

pytestmark = pytest.mark.slow  # runs the real Snakemake workflow

CLASSES = TINY["classes"]


@pytest.fixture(scope="module")
def ingested(tiny_run: Path) -> dict[str, ak.Array]:
    """The ingested jets of the tiny run, per sample."""
    return {sample: ak.concatenate([ak.from_parquet(f) for f in
                                    sorted((tiny_run / "data" / "ingested" / sample).glob("*.parquet"))])
            for sample in TINY["samples"]}


def test_every_class_has_its_jets_and_labels(ingested: dict[str, ak.Array]) -> None:
    for index, sample in enumerate(CLASSES):
        generate = TINY["samples"][sample]["generate"]
        assert len(ingested[sample]) == generate["chunks"] * generate["jets_per_chunk"]
        assert np.all(ak.to_numpy(ingested[sample].label) == index)
        np.testing.assert_array_equal(ak.to_numpy(ingested[sample].weight), 1.0)
    ids = np.concatenate([ak.to_numpy(ingested[s].event_id) for s in CLASSES])
    assert len(np.unique(ids)) == len(ids)


def test_kinematic_cuts_of_the_config_hold(ingested: dict[str, ak.Array]) -> None:
    window = TINY["generate"]
    for sample in CLASSES:
        pt, eta = ak.to_numpy(ingested[sample].jet_pt), ak.to_numpy(ingested[sample].jet_eta)
        assert np.all((pt > window["pt_min"]) & (pt < window["pt_max"])) and np.all(np.abs(eta) < window["abs_eta_max"])
        np.testing.assert_array_equal(ak.to_numpy(ingested[sample].jet_nparticles), ak.num(ingested[sample].part_px))


def test_truth_matching_shows_in_the_mass_peaks(ingested: dict[str, ak.Array]) -> None:
    sdmass = {s: ak.to_numpy(ingested[s].jet_sdmass) for s in CLASSES}
    assert 70 < np.median(sdmass["W"]) < 90
    assert 150 < np.median(sdmass["t"]) < 190
    assert np.median(sdmass["q"]) < 60
    # two-prong W jets have smaller tau21 than one-prong quark jets
    tau21 = {s: ak.to_numpy(ingested[s].jet_tau2 / ingested[s].jet_tau1) for s in ("q", "W")}
    assert np.median(tau21["W"]) < np.median(tau21["q"]) - 0.1


def test_pythia_and_the_ingest_report_went_to_the_rule_logs(tiny_run: Path) -> None:
    assert (
        "PYTHIA Event and Cross Section Statistics" in (tiny_run / "logs" / "generate" / "W" / "0000.log").read_text()
    )
    ingest_log = (tiny_run / "logs" / "ingest" / "W" / "0000.log").read_text()
    assert "data/raw/W/0000.root -> data/ingested/W/0000.parquet" in ingest_log and '"jets": 200.0' in ingest_log
