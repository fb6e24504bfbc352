"""`convert --strict` and what a record that lost annotations says about itself (issue 25 item 4).

* under ``--strict`` any rejected record or dropped annotation is a one-line error (exit 2) naming the counts and
  the first problem's file, line and reason, and the failed run writes no dataset output;
* a kept record that lost annotations says so in ``meta.dropped_annotations`` (unit -> count);
* BRAT ``.txt`` files are read with universal newlines, as brat itself reads them, so CRLF line ends keep offsets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner, Result

from biohub.cli import app
from tests.converters.conftest import write_text

runner = CliRunner()

TEXT = "患者有糖尿病和高血压。"
MENTIONS = [(3, 5, "糖尿病"), (7, 9, "高血压")]  # inclusive ends, as CMeEE writes them


def _cmeee(shift: int) -> str:
    entities = [{"start_idx": s + shift, "end_idx": e + shift, "type": "dis", "entity": t} for s, e, t in MENTIONS]
    return json.dumps([{"text": TEXT, "entities": entities}, {"text": "无异常。", "entities": []}], ensure_ascii=False)


def _convert(fmt: str, path: Path, out: Path, *extra: str) -> Result:
    args = ["convert", "--format", fmt, "--input", str(path), "--name", "toy", "--lang", "zh", "--out", str(out)]
    return runner.invoke(app, [*args, *extra])


def test_strict_fails_on_shifted_offsets_and_writes_nothing(tmp_path: Path) -> None:
    path = write_text(tmp_path, "train.json", _cmeee(shift=1))
    result = _convert("cblue-ner", path, tmp_path / "out", "--strict")
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "--strict: 0 record(s) rejected, 2 annotation(s) dropped, 0 annotation(s) unaccounted" in message
    assert f"first: {path}:record 0: mention text disagrees with its offsets" in message
    assert not (tmp_path / "out" / "toy").exists() and not (tmp_path / "out" / "ledger.json").exists()


def test_strict_passes_clean_input(tmp_path: Path) -> None:
    path = write_text(tmp_path, "train.json", _cmeee(shift=0))
    result = _convert("cblue-ner", path, tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "toy" / "train.parquet").exists() and (tmp_path / "out" / "ledger.json").exists()


def test_a_record_that_lost_annotations_is_marked(tmp_path: Path) -> None:
    path = write_text(tmp_path, "train.json", _cmeee(shift=1))
    result = _convert("cblue-ner", path, tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "out" / "toy" / "train.parquet").to_pylist()
    metas = [json.loads(row["meta"]) for row in rows]
    assert [row["labeled"] for row in rows] == [True, True]
    assert [meta.get("dropped_annotations") for meta in metas] == [{"entities": 2}, None]


# --------------------------------------------------------------------------------------------- BRAT line ends
BRAT_TEXT = "Gout flares.\nFever and gout."
BRAT_ANN = "T1\tDisease 0 4\tGout\nT2\tDisease 13 18\tFever\nT3\tDisease 23 27\tgout\n"


def test_brat_crlf_text_keeps_its_offsets(tmp_path: Path) -> None:
    """brat reads a .txt with universal newlines (server/src/annotation.py, open_textfile), so offsets count a
    CRLF line end as one character: a CRLF copy of a document converts exactly as the LF one."""
    write_text(tmp_path / "docs", "d1.txt", BRAT_TEXT.replace("\n", "\r\n"))
    write_text(tmp_path / "docs", "d1.ann", BRAT_ANN.replace("\n", "\r\n"))
    result = _convert("brat", tmp_path / "docs", tmp_path / "out", "--strict", "--split", "train")
    assert result.exit_code == 0, result.output
    row = pq.read_table(tmp_path / "out" / "toy" / "train.parquet").to_pylist()[0]
    assert row["passages"][0]["text"] == [BRAT_TEXT]
    assert [e["text"] for e in row["entities"]] == [["Gout"], ["Fever"], ["gout"]]


def test_brat_offsets_that_count_the_carriage_return_fail_strict(tmp_path: Path) -> None:
    """Offsets made on the CRLF bytes (after the first line, one too far) are genuinely bad: dropped, strict fails."""
    write_text(tmp_path / "docs", "d1.txt", BRAT_TEXT.replace("\n", "\r\n"))
    write_text(tmp_path / "docs", "d1.ann", "T1\tDisease 0 4\tGout\nT2\tDisease 14 19\tFever\n")
    result = _convert("brat", tmp_path / "docs", tmp_path / "out", "--strict", "--split", "train")
    assert result.exit_code == 2, result.output
    assert "1 annotation(s) dropped" in " ".join(result.output.split())
    assert "d1.ann:2: mention text disagrees with its offsets" in " ".join(result.output.split())
