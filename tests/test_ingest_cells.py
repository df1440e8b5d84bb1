"""A simulated chunk (generate.simulate: cms) through ingest and preprocess: the calorimeter cells, configured as set
`cell` next to set `part`, reach the ingested parquet as cell_* list columns and the prepared cell.h5."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
import uproot

from rootml.generate import generate_chunk
from rootml.generate.settings import GenerateSettings
from rootml.ingest.run import ingest_file
from rootml.ingest.spec import SampleSpec
from rootml.job import job_logging
from rootml.preprocess.chunk import preprocess_chunk
from test_preprocess_chunk import run_config
from test_preprocess_prepare import prepare_all

CLASSES = ["q", "w"]
CELL_FIELDS = ("eta", "deta", "phi", "dphi", "depth", "energy")
CELL_FEATURES = ["cell_deta", "cell_dphi", "cell_energy", "cell_depth"]
MAX_CELLS = 24


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Ten CMS-simulated jets per class, ingested with set `cell` mapped to the generator's cell_* branches."""
    root = tmp_path_factory.mktemp("cells")
    out = {}
    for label, process in zip(CLASSES, ("quark", "wqq"), strict=True):
        raw = root / f"{label}.root"
        with job_logging(root / f"{label}.log"):
            generate_chunk(raw, process=process, n_jets=10, seed=7, label=label, classes=CLASSES, progress=False,
                           settings=GenerateSettings.from_config({"simulate": "cms"}))
        cfg = {"label": label, "sets": {"cell": {"branches": {f: f"cell_{f}" for f in CELL_FIELDS}}}}
        out[label] = root / f"{label}.parquet"
        ingest_file(raw, out[label], spec=SampleSpec.from_config(label, cfg, CLASSES), file_index=0,
                    classes=CLASSES, progress=False)
    return out


def test_cells_are_ingested_next_to_the_particles(ingested: dict[str, Path]) -> None:
    jets = ak.from_parquet(ingested["w"])
    source = uproot.open(ingested["w"].with_suffix(".root"))["tree"].arrays(library="ak")
    assert {f"cell_{f}" for f in CELL_FIELDS} | {"part_px", "part_pid"} <= set(jets.fields)
    assert len(jets) == 10
    for field in CELL_FIELDS:
        assert ak.all(jets[f"cell_{field}"] == source[f"cell_{field}"])
    np.testing.assert_array_equal(ak.to_numpy(ak.num(jets.cell_energy)), ak.to_numpy(source.ncell))
    assert ak.all(ak.num(jets.cell_energy) > 5) and ak.all(jets.cell_energy > 0)


def test_cells_reach_the_prepared_set_file(ingested: dict[str, Path], tmp_path: Path) -> None:
    config = run_config(classes=CLASSES,
                        samples={c: {"label": c, "generate": {"process": "quark", "chunks": 1}} for c in CLASSES},
                        features={"sets": {"part": {"max_length": 16},
                                           "cell": {"features": CELL_FEATURES, "max_length": MAX_CELLS}}},
                        preprocess={"splits": {"train": 0.5, "val": 0.25, "test": 0.25}})
    chunks = []
    for label, parquet in ingested.items():
        chunks.append(tmp_path / "pre" / f"{label}.h5")
        preprocess_chunk(parquet, chunks[-1], config=config, progress=False)
    prepare_all(chunks, tmp_path, config)
    n_jets = n_cells = 0
    for split in ("train", "val", "test"):
        with h5py.File(tmp_path / "prepared" / split / "cell.h5") as f:
            features, mask = f["features"][:], f["mask"][:]
            assert features.shape[1:] == (len(CELL_FEATURES), MAX_CELLS)
            assert json.loads(f.attrs["feature_names"]) == CELL_FEATURES and f.attrs["set"] == "cell"
        n_jets += len(features)
        n_cells += int(mask.sum())
    assert n_jets == 20
    ncell = np.concatenate([ak.to_numpy(ak.num(ak.from_parquet(p).cell_energy)) for p in ingested.values()])
    assert n_cells == np.minimum(ncell, MAX_CELLS).sum() > 20 * 5
