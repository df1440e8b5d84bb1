"""One chunk of the generate stage: Pythia events -> anti-kT jets -> truth-matched jets -> ROOT file."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pythia8mc
from tqdm import tqdm

from rootml.errors import ConfigError
from rootml.generate.clustering import cluster_jets, in_window
from rootml.generate.events import next_events, start_pythia, visible_final_state
from rootml.generate.matching import hard_objects, match_jets, quarks_of
from rootml.generate.processes import ProcessSpec, process_spec, pythia_settings
from rootml.generate.settings import GenerateSettings
from rootml.generate.simulated import Detector, cells_in_jets, detected_record, detector_for, gen_jet_p4
from rootml.generate.writer import detector_branches, jet_branches, write_jets

# nextBatch is as fast as next() for tens of events and slows down for hundreds (its awkward
# builder grows); the last batch is sized from the running jets-per-event so little is wasted.
MAX_BATCH_EVENTS = 50
MIN_BATCH_EVENTS = 5
MAX_EVENTS_WITHOUT_JETS = 2000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratedJets:
    """Truth-matched jets of one chunk: momenta, pT-sorted constituents and the truth object of each jet."""

    p4: np.ndarray  # (n, 4) px, py, pz, E of each jet
    constituents: ak.Array  # [jet][k] records px, py, pz, E, pid, by decreasing pT
    object_p4: np.ndarray  # (n, 4) the hard parton, boson or top that labels each jet
    quarks: ak.Array  # [jet][q] records px, py, pz, E: that object's decay quarks (none for partons)
    events: int  # events generated
    init_seconds: float  # time Pythia took to initialise
    gen_p4: np.ndarray | None = None  # with a detector: (n, 4) the generator-level jet of each jet
    cells: ak.Array | None = None  # with a detector: [jet][k] the calorimeter cells of each jet


@dataclass
class _Batch:
    """The matched jets of one batch of events, as flat arrays."""

    p4: np.ndarray
    constituents: ak.Array
    object_p4: np.ndarray
    quarks: ak.Array
    gen_p4: np.ndarray | None = None
    cells: ak.Array | None = None


def _check_generation(process: str, n_jets: int, seed: int, settings: GenerateSettings) -> ProcessSpec:
    """The process's spec; ConfigError naming the first generator argument that cannot work."""
    spec = process_spec(process)
    if isinstance(n_jets, bool) or not isinstance(n_jets, int) or n_jets < 1:
        raise ConfigError("n_jets", f"must be an integer >= 1, got {n_jets!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}")
    if settings.pileup is not None and settings.simulate is None:
        raise ConfigError("generate.pileup", "pileup needs a detector: set generate.simulate (or the sample's)")
    if not settings.pt_min < settings.pt_max:
        raise ConfigError("generate.pt_min", f"need pt_min < pt_max, got pt_min={settings.pt_min!r}, "
                                             f"pt_max={settings.pt_max!r}")
    return spec


def _check_labels(label: str, classes: Sequence[str]) -> None:
    """ConfigError unless `classes` are distinct names and `label` is one of them."""
    if not classes or len(set(classes)) != len(classes):
        raise ConfigError("classes", f"must be a non-empty list of distinct names, got {list(classes)}")
    if label not in classes:
        raise ConfigError("label", f"'{label}' is not one of the classes {list(classes)}")


def _matched_batch(pythia: pythia8mc.Pythia, n_events: int, spec: ProcessSpec, *, jet_radius: float,
                   pt_min: float, pt_max: float, abs_eta_max: float,
                   detector: Detector | None = None) -> tuple[int, _Batch]:
    """Generate `n_events` events; return how many were generated and their truth-matched jets (clustered from the
    detector's EFlow candidates when there is a detector)."""
    record = next_events(pythia, n_events)
    visible = visible_final_state(record)
    if detector is None:
        source = record
        jets = cluster_jets(record, visible, jet_radius, pt_min)
    else:
        source, cells = detected_record(detector, record, visible)
        jets = cluster_jets(source, np.arange(len(source.pid)), jet_radius, pt_min)
    jets = jets[in_window(jets, pt_min, pt_max, abs_eta_max)]
    objects = hard_objects(record, spec)
    owner = match_jets(jets, objects, jet_radius)
    jets, owner = jets[owner >= 0], owner[owner >= 0]
    index = ak.to_numpy(ak.flatten(jets.constituents))
    constituents = ak.zip({"px": source.px[index], "py": source.py[index], "pz": source.pz[index],
                           "E": source.energy[index], "pid": source.pid[index]})
    quark_counts, quark_p4 = quarks_of(objects, owner)
    quarks = ak.zip({c: quark_p4[:, i] for i, c in enumerate(("px", "py", "pz", "E"))})
    return len(record.counts), _Batch(
        p4=jets.p4,
        constituents=ak.unflatten(constituents, ak.num(jets.constituents)),
        object_p4=objects.p4[owner],
        quarks=ak.unflatten(quarks, quark_counts),
        gen_p4=None if detector is None else gen_jet_p4(record, visible, jets, jet_radius, pt_min),
        cells=None if detector is None else cells_in_jets(cells, jets, jet_radius),
    )


def _batch_size(jets_needed: int, jets: int, events: int) -> int:
    """Events for the next batch: enough for the jets still needed at the running rate (+20%), capped."""
    if jets == 0:
        return MAX_BATCH_EVENTS
    return int(np.clip(math.ceil(1.2 * jets_needed * events / jets), MIN_BATCH_EVENTS, MAX_BATCH_EVENTS))


def _sorted_by_pt(constituents: ak.Array) -> ak.Array:
    """Constituents of every jet in decreasing pT."""
    return constituents[ak.argsort(np.hypot(constituents.px, constituents.py), axis=1, ascending=False,
                                   stable=True)]


def _generate(spec: ProcessSpec, *, n_jets: int, seed: int, settings: GenerateSettings, progress: bool,
              max_events_without_jets: int) -> GeneratedJets:
    """The event loop (Pythia's and FastJet's own printing goes wherever the process's stdout points)."""
    start = time.perf_counter()
    window = {"jet_radius": settings.jet_radius, "pt_min": settings.pt_min, "pt_max": settings.pt_max,
              "abs_eta_max": settings.abs_eta_max}
    pythia_config = pythia_settings(spec, sqrt_s=settings.sqrt_s, pt_min=settings.pt_min, pt_max=settings.pt_max,
                                    seed=seed)
    log.info("%d jets of process '%s', anti-kT R = %s, %s < pT < %s GeV, |eta| < %s; Pythia settings: %s", n_jets,
             spec.name, settings.jet_radius, settings.pt_min, settings.pt_max, settings.abs_eta_max, pythia_config)
    pythia = start_pythia(pythia_config)
    detector = detector_for(settings, seed)
    init_seconds = time.perf_counter() - start
    batches: list[_Batch] = []
    events = jets = 0
    with tqdm(total=n_jets, desc=f"generate {spec.name}", unit="jet", file=sys.stderr, disable=not progress) as bar:
        while jets < n_jets:
            if jets == 0 and events >= max_events_without_jets:
                raise ConfigError(
                    "generate",
                    f"process '{spec.name}' gave no jet with {settings.pt_min} < pT < {settings.pt_max} GeV and "
                    f"|eta| < {settings.abs_eta_max} that passes its truth matching in {events} events at "
                    f"sqrt_s = {settings.sqrt_s} GeV",
                )
            generated, batch = _matched_batch(pythia, _batch_size(n_jets - jets, jets, events), spec, **window,
                                            detector=detector)
            events += generated
            jets += len(batch.p4)
            batches.append(batch)
            bar.update(min(len(batch.p4), n_jets - bar.n))
    pythia.stat()
    log.info("%d matched jets in %d events (%.3f per event); kept %d", jets, events, jets / events, n_jets)
    keep = slice(0, n_jets)
    return GeneratedJets(
        p4=np.concatenate([b.p4 for b in batches])[keep],
        constituents=_sorted_by_pt(ak.concatenate([b.constituents for b in batches])[keep]),
        object_p4=np.concatenate([b.object_p4 for b in batches])[keep],
        quarks=ak.concatenate([b.quarks for b in batches])[keep],
        events=events,
        init_seconds=init_seconds,
        gen_p4=None if detector is None else np.concatenate([b.gen_p4 for b in batches])[keep],
        cells=None if detector is None else ak.concatenate([b.cells for b in batches])[keep],
    )


def generate_jets(*, process: str, n_jets: int, seed: int, settings: GenerateSettings, progress: bool = True,
                  max_events_without_jets: int = MAX_EVENTS_WITHOUT_JETS) -> GeneratedJets:
    """Generate `n_jets` truth-matched jets of `process` in the pT/eta window of `settings`."""
    spec = _check_generation(process, n_jets, seed, settings)
    return _generate(spec, n_jets=n_jets, seed=seed, settings=settings, progress=progress,
                     max_events_without_jets=max_events_without_jets)


def generate_chunk(out_path: str | Path, *, process: str, n_jets: int, seed: int, label: str,
                   classes: Sequence[str], settings: GenerateSettings, overrides: Mapping[str, Any] | None = None,
                   progress: bool = True, max_events_without_jets: int = MAX_EVENTS_WITHOUT_JETS) -> dict[str, float]:
    """Generate `n_jets` jets of `process` and write them JetClass-style to `out_path`; return run statistics.
    `overrides` are the sample's own generate settings (samples.<name>.generate.simulate)."""
    start = time.perf_counter()
    _check_labels(label, classes)
    settings = settings.for_sample(overrides)
    jets = generate_jets(process=process, n_jets=n_jets, seed=seed, settings=settings, progress=progress,
                         max_events_without_jets=max_events_without_jets)
    branches = jet_branches(jets.p4, jets.constituents, label=label, classes=classes, jet_radius=settings.jet_radius)
    if jets.gen_p4 is not None:
        branches.update(detector_branches(jets.gen_p4, jets.cells))
    write_jets(out_path, branches)
    seconds = time.perf_counter() - start
    stats = {"events": float(jets.events), "jets": float(n_jets), "seconds": seconds,
             "init_seconds": jets.init_seconds, "efficiency": n_jets / jets.events}
    log.info("wrote %s: %s", out_path, stats)
    return stats
