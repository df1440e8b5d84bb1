"""Train/val/test split by a hash of the event id: fractions, reproducibility, independence of the file order."""

from __future__ import annotations

import numpy as np
import pytest

from rootml.errors import ConfigError
from rootml.preprocess.split import assign_splits
from rootml.seeds import stable_event_ids

FRACTIONS = {"train": 0.6, "val": 0.25, "test": 0.15}


def test_fractions_follow_the_config() -> None:
    ids = stable_event_ids("sample/file.root", np.arange(40_000))
    split = assign_splits(ids, FRACTIONS, seed=7)
    assert split.dtype == np.int8
    np.testing.assert_allclose(np.bincount(split, minlength=3) / len(ids), [0.6, 0.25, 0.15], atol=0.01)


def test_a_jet_keeps_its_split_whatever_the_order_or_grouping_of_files() -> None:
    ids = stable_event_ids("sample/file.root", np.arange(5_000))
    together = assign_splits(ids, FRACTIONS, seed=7)
    order = np.random.default_rng(1).permutation(len(ids))
    shuffled = assign_splits(ids[order], FRACTIONS, seed=7)
    np.testing.assert_array_equal(shuffled, together[order])
    # as if the jets came in two files read in the other order
    parts = [assign_splits(ids[2_000:], FRACTIONS, seed=7), assign_splits(ids[:2_000], FRACTIONS, seed=7)]
    np.testing.assert_array_equal(np.concatenate(parts[::-1]), together)


def test_jets_of_one_event_share_a_split_and_the_seed_changes_the_split() -> None:
    ids = np.repeat(stable_event_ids("s/f.root", np.arange(1_000)), 2)
    split = assign_splits(ids, FRACTIONS, seed=7)
    np.testing.assert_array_equal(split[0::2], split[1::2])
    other = assign_splits(ids, FRACTIONS, seed=8)
    assert 0.3 < np.mean(other != split) < 0.7


@pytest.mark.parametrize("fractions", [{"train": 0.6, "val": 0.2}, {"train": 0.6, "val": 0.3, "test": 0.3},
                                       {"train": 1.2, "val": -0.1, "test": -0.1}])
def test_bad_fractions_name_the_config_key(fractions: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="preprocess.splits"):
        assign_splits(np.arange(10), fractions, seed=1)
