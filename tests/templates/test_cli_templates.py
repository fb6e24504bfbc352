"""`biohub templates check` on the shipped example corpora: 100% passes, any failed round trip exits 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.api import convert_catalogued

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mirror"


@pytest.fixture(scope="module")
def unified_examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("examples")
    convert_catalogued(EXAMPLES, out, ["ncbi_disease", "kuake_qic"], verify=False, progress=False)
    return out


def test_check_passes_on_the_examples(unified_examples: Path) -> None:
    result = CliRunner().invoke(app, ["templates", "check", "--unified", str(unified_examples)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.count("100.00%") == 2


def test_check_exits_1_when_a_round_trip_fails(unified_examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from biohub.templates import check

    real = check.check_instance
    monkeypatch.setattr(
        check, "check_instance", lambda record, instance: "broken" if instance.family == "ner" else real(record, instance)
    )
    result = CliRunner().invoke(app, ["templates", "check", "--unified", str(unified_examples)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "ncbi_disease" in result.output and "broken" in result.output and "100.00%" in result.output  # kuake_qic still passes


def test_instruct_cli_writes_examples_without_a_tokenizer(unified_examples: Path, tmp_path: Path) -> None:
    args = ["instruct", "--unified", str(unified_examples), "--out", str(tmp_path), "--max-length", "0", "--formats", "json"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ncbi_disease" / "train.parquet").exists() and (tmp_path / "ledger.json").exists()
    assert not (tmp_path / "length_stats.json").exists()
    bad = CliRunner().invoke(app, [*args[:-1], "yaml"])
    assert bad.exit_code == 2 and "formats must be among" in bad.output
