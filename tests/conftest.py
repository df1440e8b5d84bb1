"""Shared pytest fixtures: paths to the repository and to the real HEP files in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where the Snakefile lives)."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real ROOT files written by CMS, Delphes and the HEP tutorials."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"expected the real test files in {SHARED_DATA} (shared/ beside the repository)")
    return SHARED_DATA
