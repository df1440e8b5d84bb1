"""What produced a run's results: code version, config hash, package versions, host and times.

Written as results/provenance.json from the Snakefile's `onsuccess` hook (see docs/clusters.md), so two
runs can be compared: same git commit, clean tree, same config hash and same package versions should
give the same files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from rootml.atomic import atomic_output
from rootml.errors import ConfigError

# Distributions whose versions decide the numbers of a run (PyPI names, as pip lists them).
KEY_PACKAGES: tuple[str, ...] = (
    "rootml", "snakemake", "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-htcondor",
    "numpy", "scipy", "pandas", "pyarrow", "h5py", "uproot", "awkward", "vector", "particle", "pythia8mc",
    "fastjet", "torch", "scikit-learn", "xgboost-cpu", "xgboost", "onnx", "onnxruntime", "matplotlib", "mplhep",
)


def _check_json_value(value: Any, key: str) -> None:
    """Raise ConfigError naming `key` when `value` has no single canonical JSON form."""
    # json.dumps would also refuse these, but without saying which config key holds them.
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                raise ConfigError(key or "<root>", f"keys must be strings to hash the config, got {name!r}")
            _check_json_value(item, f"{key}.{name}" if key else name)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_value(item, f"{key}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(key, f"{value} has no JSON form; the config hash needs finite numbers")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise ConfigError(key, f"value of type {type(value).__name__} has no JSON form: {value!r}")


def canonical_json(config: Mapping[str, Any]) -> str:
    """The config as canonical JSON: sorted keys, no whitespace, UTF-8 text (the input of config_hash)."""
    _check_json_value(config, "")
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the resolved config: equal for equal configs, key order aside."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def _git(repo: str | os.PathLike[str], *args: str) -> str:
    """Output of `git -C repo args...`; CalledProcessError or OSError when git cannot answer."""
    done = subprocess.run(["git", "-C", os.fspath(repo), *args], capture_output=True, text=True, check=True,
                          timeout=30)
    return done.stdout


def git_state(repo: str | os.PathLike[str]) -> dict[str, Any]:
    """{commit, dirty} of the checkout at `repo`; both None plus `error` when it is not a usable git checkout."""
    try:
        commit = _git(repo, "rev-parse", "HEAD").strip()
        # untracked files count (a new rule changes the run); .gitignore keeps data/ and results/ out
        dirty = bool(_git(repo, "status", "--porcelain").strip())
    except subprocess.CalledProcessError as err:
        return {"commit": None, "dirty": None, "error": err.stderr.strip() or f"git exited with {err.returncode}"}
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"commit": None, "dirty": None, "error": str(err)}
    return {"commit": commit, "dirty": dirty}


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution in `names`; None for those not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _utc(moment: datetime) -> str:
    """ISO 8601 text of `moment` in UTC (a naive datetime is taken as local time)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def collect_provenance(config: Mapping[str, Any], repo: str | os.PathLike[str], started: datetime,
                       finished: datetime | None = None) -> dict[str, Any]:
    """The provenance record of a run that started at `started` and ended at `finished` (default: now)."""
    finished = finished or datetime.now(UTC)
    return {
        "git": git_state(repo),
        "config_hash": config_hash(config),
        "config": json.loads(canonical_json(config)),
        "packages": package_versions(),
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "command": list(sys.argv),
        "started": _utc(started),
        "finished": _utc(finished),
        "elapsed_s": round((finished.astimezone(UTC) - started.astimezone(UTC)).total_seconds(), 3),
    }


def write_provenance(path: str | os.PathLike[str], config: Mapping[str, Any], repo: str | os.PathLike[str],
                     started: datetime, finished: datetime | None = None) -> dict[str, Any]:
    """Write collect_provenance(...) as indented JSON to `path` (atomically); return the record."""
    record = collect_provenance(config, repo, started, finished)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return record
