"""CLI conventions a user expects (issue 25, item 13): --version, python -m biohub, readable tables at 80 columns,
export as a table or JSON, repeated list options combined, and a dry-run push that works offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import biohub
from biohub.cli import app
from tests.synthetic import write_hub

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _biohub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m biohub ARGS`` in a child process, this checkout first on the path."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "biohub", *args], capture_output=True, text=True, env=environment, timeout=120)


def test_version_and_python_dash_m() -> None:
    result = _biohub("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"biohub {biohub.__version__}"
    assert runner.invoke(app, ["--version"]).output.strip() == f"biohub {biohub.__version__}"


def test_datasets_is_readable_at_80_columns() -> None:
    result = runner.invoke(app, ["datasets"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│")]
    names = [row.split("│")[1].strip() for row in rows]
    assert {"bc2gm", "bc5cdr", "ddi", "cmeee"} <= set(names)  # every name whole, on its own line
    assert len(rows) <= 4 * len([name for name in names if name])  # at most four lines per corpus


def test_repeated_list_options_are_combined() -> None:
    from biohub.cli import _names

    assert _names(["a", "b,c", " a "]) == ["a", "b", "c"]
    assert _names(None) is None


def test_repeated_datasets_are_combined_on_convert(tmp_path: Path) -> None:
    args = ["convert", "--mirror", str(tmp_path), "--out", str(tmp_path / "o"), "--datasets", "nope1", "--datasets", "nope2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "unknown dataset(s) nope1, nope2" in result.output


def test_export_prints_a_table_or_json(tmp_path: Path) -> None:
    hub = write_hub(tmp_path / "hub")
    result = runner.invoke(app, ["export", str(hub), "--format", "alpaca", "--out", str(tmp_path / "a")], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "{'" not in result.output and "mix_stage1" in result.output and "│" in result.output
    args = ["export", str(hub), "--format", "messages", "--out", str(tmp_path / "m"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["format"] == "messages" and "mix_stage1" in summary["configs"]


@pytest.mark.parametrize("offline", [True, False], ids=["HF_HUB_OFFLINE", "no-network"])
def test_push_dry_run_works_offline(tmp_path: Path, offline: bool) -> None:
    hub = write_hub(tmp_path / "hub")
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1" if offline else "0", "HF_TOKEN": "", "COLUMNS": "200"}
    result = _biohub("push", str(hub), "--repo-id", "me/data", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "could not compare" in result.stdout and "README.md" in result.stdout
    assert "nothing was changed" in result.stdout
