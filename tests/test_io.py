"""Shared I/O: reading a hub folder never serves rows of an older folder of the same name from a cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from biohub.io import read_hub_split
from biohub.templates.example import EXAMPLE_FEATURES
from tests.synthetic import write_hub


def test_a_rebuilt_or_same_named_folder_is_read_afresh(tmp_path: Path) -> None:
    first, second = write_hub(tmp_path / "a" / "hub", seed=0), write_hub(tmp_path / "b" / "hub", seed=1)
    for folder in (first, second):
        expected = pq.read_table(folder / "data" / "mix_stage1" / "train-00000-of-00001.parquet").to_pylist()
        assert read_hub_split(str(folder), "mix_stage1", "train").to_list() == expected
    shutil.rmtree(first)
    write_hub(first, seed=5)
    expected = pq.read_table(first / "data" / "mix_stage1" / "train-00000-of-00001.parquet").to_pylist()
    rows = read_hub_split(str(first), "mix_stage1", "train")
    assert rows.to_list() == expected and rows.features == EXAMPLE_FEATURES


def test_missing_configs_and_splits_are_named(tmp_path: Path) -> None:
    hub = write_hub(tmp_path / "hub")
    with pytest.raises(ValueError, match="no config 'nope' \\(has: mix_stage1, mix_stage2\\)"):
        read_hub_split(str(hub), "nope", "train")
    with pytest.raises(ValueError, match="has no split 'test'"):
        read_hub_split(str(hub), "mix_stage1", "test")
    with pytest.raises(ValueError, match="no Hub card"):
        read_hub_split(str(tmp_path), "mix_stage1", "train")
