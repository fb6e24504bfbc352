"""Converting several catalogued corpora in worker processes: the same bytes as in one process, errors that keep
their type and place, and nothing written when a run fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from biohub.converters.api import StrictError, convert_catalogued
from biohub.converters.base import ConvertError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "mirror"


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_worker_processes_write_the_same_bytes_as_one_process(tmp_path: Path) -> None:
    # Every example corpus: spawned workers run with their own string hash seeds, so any output that follows the
    # iteration order of a set or of hashed keys differs between the two folders.
    alone = convert_catalogued(EXAMPLES, tmp_path / "one", verify=False, progress=False, jobs=1)
    pooled = convert_catalogued(EXAMPLES, tmp_path / "two", verify=False, progress=False, jobs=2)
    assert [r.dataset for r in pooled] == [r.dataset for r in alone]  # the catalog's order, not the finishing order
    assert [r.ledger for r in pooled] == [r.ledger for r in alone]
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) > 3 * len(alone) and one.keys() == two.keys()
    assert [name for name in one if one[name] != two[name]] == []
    assert all(result.records == {} for result in pooled)  # written, then let go: one corpus in memory at a time


def test_an_error_in_a_worker_keeps_its_type_and_place_and_nothing_is_written(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(EXAMPLES, mirror)
    (mirror / "bc2gm" / "BC2GM-IOB" / "test.tsv").unlink()
    out = tmp_path / "out"
    with pytest.raises(ConvertError, match=r"bc2gm/BC2GM-IOB/test\.tsv: missing source file"):
        convert_catalogued(mirror, out, ["ncbi_disease", "bc2gm", "bc5cdr"], verify=False, progress=False, jobs=2)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["mirror"]  # no staging folder left either


def test_strict_refuses_after_the_workers_and_writes_nothing(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(EXAMPLES, mirror)
    train = mirror / "kuake_qic" / "KUAKE-QIC_train.json"
    train.write_text(train.read_text(encoding="utf-8").replace('"治疗方案"', '"治疗方按"', 1), encoding="utf-8")
    out = tmp_path / "out"
    names = ["ncbi_disease", "kuake_qic", "bc5cdr"]
    with pytest.raises(StrictError, match=r"--strict: 1 record\(s\) rejected.*KUAKE-QIC_train\.json"):
        convert_catalogued(mirror, out, names, verify=False, progress=False, strict=True, jobs=2)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["mirror"]
