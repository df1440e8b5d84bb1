"""Generate-stage throughput: rootml's whole chunk pipeline against a bare Pythia next() loop.

Run: .venv/bin/python benchmarks/generate.py [--events 300] [--rounds 2] [--processes qcd tbqq] [--simulate cms]
For each process, all run with the same Pythia settings and seed, on one core, alternating in
rounds so that a busy machine slows all alike; Pythia's initialisation is left out of every time.
The pipeline (rootml.generate.generate_chunk) does Pythia + extraction + anti-kT clustering +
truth matching + substructure + ROOT writing; the detector-level pipeline adds the simulate stage of
the card (tracking, calorimeter cells, energy flow; jets clustered from the EFlow candidates).
Prints events/s of each, the pipeline's ratio to bare Pythia (goal >= 0.8) and the detector's cost
per event as a fraction of Pythia's (goal < 1; benchmarks/simulate.py times the detector alone).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rootml.generate import generate_chunk
from rootml.generate.events import start_pythia
from rootml.generate.processes import process_spec, pythia_settings
from rootml.generate.settings import GenerateSettings
from rootml.job import redirected_output

SEED = 12345
SETTINGS = GenerateSettings.from_config({"sqrt_s": 13000.0, "pt_min": 500.0, "pt_max": 700.0})
# jets asked of the pipeline per bare-loop event: about the jets per event of the least efficient
# process (tbqq), so that the pipeline runs at least as many events as the bare loop
JETS_PER_EVENT = 0.5


def bare_pythia_seconds(process: str, n_events: int, seed: int) -> float:
    """Seconds for n_events plain pythia.next() calls (after initialisation)."""
    settings = pythia_settings(process_spec(process), seed=seed, sqrt_s=SETTINGS.sqrt_s, pt_min=SETTINGS.pt_min,
                               pt_max=SETTINGS.pt_max)
    with redirected_output(None):
        pythia = start_pythia(settings)
        start = time.perf_counter()
        for _ in range(n_events):
            pythia.next()
        return time.perf_counter() - start


def pipeline_events_seconds(process: str, n_jets: int, seed: int, out_dir: Path,
                            settings: GenerateSettings) -> tuple[float, float]:
    """Events generated and seconds spent (initialisation excluded) by generate_chunk for n_jets jets."""
    stats = generate_chunk(out_dir / f"{process}.root", process=process, n_jets=n_jets, seed=seed, label="x",
                           classes=["x"], settings=settings, progress=False)
    return stats["events"], stats["seconds"] - stats["init_seconds"]


def main() -> None:
    """Measure and print the throughputs and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="bare-loop events per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", nargs="+", default=["qcd", "tbqq"])
    parser.add_argument("--simulate", default="cms", help="detector card of the detector-level pipeline ('none': skip)")
    args = parser.parse_args()
    pipelines = {"rootml": SETTINGS}
    if args.simulate != "none":
        pipelines["detector"] = SETTINGS.for_sample({"simulate": args.simulate})
    variants = ["bare", *pipelines]
    header = f"{'process':8} {'bare Pythia ev/s':>17} {'rootml ev/s':>12} {'ratio':>6}"
    if "detector" in pipelines:
        header += f" {args.simulate + ' ev/s':>12} {'ratio':>6} {'detector/Pythia':>16}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for process in args.processes:
            events = dict.fromkeys(variants, 0.0)
            seconds = dict.fromkeys(variants, 0.0)
            for round_ in range(args.rounds):
                shift = round_ % len(variants)  # rotate the order so that no variant always runs first
                for which in variants[shift:] + variants[:shift]:
                    if which == "bare":
                        seconds[which] += bare_pythia_seconds(process, args.events, SEED + round_)
                        events[which] += args.events
                    else:
                        n, t = pipeline_events_seconds(process, round(JETS_PER_EVENT * args.events), SEED + round_,
                                                       Path(tmp), pipelines[which])
                        events[which] += n
                        seconds[which] += t
            rate = {which: events[which] / seconds[which] for which in variants}
            line = f"{process:8} {rate['bare']:17.1f} {rate['rootml']:12.1f} {rate['rootml'] / rate['bare']:6.2f}"
            if "detector" in rate:
                # the detector's seconds per event: the detector-level pipeline's minus the generator-level one's
                detector_cost = (1 / rate["detector"] - 1 / rate["rootml"]) * rate["bare"]
                line += f" {rate['detector']:12.1f} {rate['detector'] / rate['bare']:6.2f} {detector_cost:16.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
