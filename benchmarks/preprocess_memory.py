"""Peak memory of the preprocess stage for 1x and 10x the data: the stage streams, so the ratio should stay ~1.

Run: .venv/bin/python benchmarks/preprocess_memory.py [--jets 10000] [--chunks 2] [--scale 10]
Writes synthetic ingested chunks (tests/synthetic.py, default config/config.yaml settings)
into a temporary folder, then measures each step in a fresh process (peak RSS from getrusage, and
the increase over the process's RSS after its imports):
- preprocess_chunk on one chunk of --jets jets, and on one chunk of scale x --jets jets;
- fit_preprocessing and prepare_split('train') over --chunks preprocessed chunks, and over scale x as
  many (copies of the same files: prepare and fit read every row, so this is scale x the data).
Prints the peaks side by side and their ratio (goal <= 1.2).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from rootml.settings import validated

REPO = Path(__file__).resolve().parents[1]


def load_config() -> dict[str, Any]:
    """The default run config with the schema defaults filled in."""
    return validated(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


def _peak_kib() -> int:
    """Peak resident set size of this process so far, in KiB (Linux getrusage units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measured(step: str, args: tuple) -> dict[str, float]:
    """Run one step in this (fresh) process; return its seconds, peak RSS and the peak above the post-import RSS."""
    from rootml.preprocess.chunk import preprocess_chunk
    from rootml.preprocess.fit import fit_preprocessing
    from rootml.preprocess.layout import prepared_paths
    from rootml.preprocess.prepare import prepare_split

    steps: dict[str, Callable[..., Any]] = {
        "preprocess": lambda src, out, config: preprocess_chunk(src, out, config=config, progress=False),
        "fit": lambda chunks, out, config: fit_preprocessing(
            chunks, out / "n.json", out / "r.json", config=config, progress=False
        ),
        "prepare": lambda chunks, out, fitted, config: prepare_split(
            chunks,
            "train",
            prepared_paths(out, config),
            normalization=fitted["normalization"],
            reweighting=fitted["reweighting"],
            config=config,
            progress=False,
        ),
    }
    baseline = _peak_kib()
    start = time.perf_counter()
    result = steps[step](*args)
    return {"seconds": time.perf_counter() - start, "peak_mib": _peak_kib() / 1024,
            "above_imports_mib": (_peak_kib() - baseline) / 1024, "result": result}


def measure(step: str, *args: Any) -> dict[str, Any]:
    """`_measured` in a freshly spawned process, so each peak is that step's alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_measured, step, args).result()


def main() -> None:
    """Build the data, measure every step at 1x and scale x, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", type=int, default=10_000, help="jets per chunk at 1x")
    parser.add_argument("--chunks", type=int, default=2, help="chunks read by fit/prepare at 1x")
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))  # the synthetic chunks of the tests
    from synthetic import write_synthetic_chunk

    config = load_config()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small = write_synthetic_chunk(root / "small.parquet", args.jets, 1, seed=1)
        large = write_synthetic_chunk(root / "large.parquet", args.scale * args.jets, 1, seed=2)
        pre = [measure("preprocess", small, root / "small.h5", config),
               measure("preprocess", large, root / "large.h5", config)]
        rows.append(("preprocess_chunk", f"{args.jets} jets", f"{args.scale * args.jets} jets", pre))
        base = [root / "small.h5"]
        for i in range(1, args.chunks):  # further chunks of other classes
            base.append(root / f"c{i}.h5")
            measure("preprocess", write_synthetic_chunk(root / f"c{i}.parquet", args.jets, i % 5, seed=10 + i),
                    base[-1], config)
        copies = []
        for i in range(args.scale * args.chunks):
            copies.append(root / "copies" / f"{i:04d}.h5")
            copies[-1].parent.mkdir(exist_ok=True)
            shutil.copyfile(base[i % len(base)], copies[-1])
        fit = [measure("fit", base, root / "fit1", config), measure("fit", copies, root / "fit10", config)]
        rows.append(("fit_preprocessing", f"{len(base)} chunks", f"{len(copies)} chunks", fit))
        fitted = fit[0]["result"]
        prepared = [measure("prepare", base, root / "p1", fitted, config),
                    measure("prepare", copies, root / "p10", fitted, config)]
        rows.append(("prepare_split(train)", f"{prepared[0]['result']['jets']} jets",
                     f"{prepared[1]['result']['jets']} jets", prepared))
    print(f"{'step':<22}{'1x':>14}{'scale x':>14}{'peak 1x':>10}{'peak Nx':>10}{'ratio':>7}"
          f"{'above imports 1x / Nx':>26}{'seconds 1x / Nx':>18}")
    for name, small_size, large_size, (one, many) in rows:
        print(f"{name:<22}{small_size:>14}{large_size:>14}{one['peak_mib']:>8.0f}Mi{many['peak_mib']:>8.0f}Mi"
              f"{many['peak_mib'] / one['peak_mib']:>7.2f}{one['above_imports_mib']:>16.0f} / "
              f"{many['above_imports_mib']:<7.0f}{one['seconds']:>10.1f} / {many['seconds']:<6.1f}")


if __name__ == "__main__":
    main()
