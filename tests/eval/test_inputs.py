"""What evaluation accepts (issue 25, items 6, 7 and 11): predictions that are not plain, unique, known answers are
refused naming the file and line; missing predictions are counted apart from parse failures; every report row
shows its n and both counts; eval reuses raw outputs only for the same model and adapter *content*."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.generate import read_done
from biohub.eval.report import write_report
from biohub.eval.run import evaluate, score_file, select
from biohub.eval.suite import load_suite, resolve
from biohub.io import InputError

MEDQA_SUITE = """\
name: medqa_only
description: a multiple-choice and a classification row, for fast tests
entries:
  - {name: MedQA-USMLE, group: QA, dataset: medqa_usmle, split: test, tasks: [qa_multiple_choice], headline: accuracy}
  - {name: KUAKE-QIC-dev, group: TC, dataset: kuake_qic, split: validation, tasks: [classification], headline: accuracy}
"""


@pytest.fixture()
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "medqa_only.yaml"
    path.write_text(MEDQA_SUITE, encoding="utf-8")
    return path


def _rows(hub: Path, suite: Path) -> dict[str, list[dict[str, Any]]]:
    return select(str(hub), resolve(load_suite(str(suite)), str(hub)), None, 0)


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines), encoding="utf-8")
    return path


def _gold(row: dict[str, Any]) -> str:
    return str(row["messages"][-1]["content"])


def test_score_refuses_non_string_duplicate_unknown_and_empty(demo_hub: Path, tmp_path: Path, suite_file: Path) -> None:
    rows = _rows(demo_hub, suite_file)
    medqa, qic = rows["MedQA-USMLE"], rows["KUAKE-QIC-dev"]
    first = {"id": medqa[0]["id"], "output": _gold(medqa[0])}
    labels = json.loads(qic[0]["meta"]).get("labels") or ["x"]
    cases: dict[str, tuple[list[Any], str]] = {
        "null": ([first, {"id": medqa[1]["id"], "output": None}], r":2: 'output' must be a string, not null"),
        "list_choices": ([{"id": medqa[0]["id"], "output": list("ABCDE")}], r":1: 'output' must be a string, not \["),
        "list_labels": ([first, "", {"id": qic[0]["id"], "output": labels}], r":3: 'output' must be a string"),
        "number_id": ([{"id": 7, "output": "A"}], r":1: 'id' must be a string, not 7"),
        "duplicate": ([first, {"id": medqa[0]["id"], "output": "nonsense"}], r":2: id '.*' is given twice \(first on line 1\)"),
        "unknown": ([first, {"id": "nope", "output": "A"}], r":2: id 'nope' is not an example of suite medqa_only"),
        "empty": ([], r"no predictions \(the file is empty\)"),
        "blank": (["", "  "], r"no predictions"),
    }
    for name, (lines, message) in cases.items():
        path = _write(tmp_path / f"{name}.jsonl", lines)
        with pytest.raises(InputError, match=f"{path.name}{message if message.startswith(':') else '.*' + message}"):
            score_file(path, load_suite(str(suite_file)), str(demo_hub), tmp_path / f"out-{name}")
        assert not (tmp_path / f"out-{name}").exists(), name  # refused before anything is written
    result = CliRunner().invoke(
        app, ["score", "--predictions", str(tmp_path / "empty.jsonl"), "--data", str(demo_hub), "--out", str(tmp_path / "o"),
              "--suite", str(suite_file)],
    )  # fmt: skip
    assert result.exit_code == 2 and "empty.jsonl: no predictions" in " ".join(result.output.split())


def test_missing_predictions_are_counted_apart_from_parse_failures(demo_hub: Path, tmp_path: Path, suite_file: Path) -> None:
    rows = _rows(demo_hub, suite_file)
    medqa = rows["MedQA-USMLE"]
    lines = [{"id": medqa[0]["id"], "output": _gold(medqa[0])}, {"id": medqa[1]["id"], "output": "I am not sure."}]
    suite = load_suite(str(suite_file))
    document = score_file(_write(tmp_path / "p.jsonl", lines), suite, str(demo_hub), tmp_path / "out", resamples=0)
    entries = {e["name"]: e for e in document["entries"]}
    n = entries["MedQA-USMLE"]["n"]
    assert (entries["MedQA-USMLE"]["missing"], entries["MedQA-USMLE"]["parse_failures"]) == (n - 2, 1)
    assert entries["MedQA-USMLE"]["value"] == pytest.approx(1 / n)
    qic = entries["KUAKE-QIC-dev"]
    assert (qic["missing"], qic["parse_failures"], qic["value"]) == (qic["n"], 0, 0.0)
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| n out | missing out | parse fail out |" in report
    share = f"{100 / n:.1f}"  # the gold answer: right under both parsings; the other fails both
    assert f"| MedQA-USMLE | accuracy | {share} | {share} | {share} | {share} | {n} | {n - 2} | 1 |" in report
    assert f"| KUAKE-QIC-dev | accuracy | 0.0 | 0.0 | 0.0 | 0.0 | {qic['n']} | {qic['n']} | 0 |" in report


def _results(folder: Path, entries: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"suite": "s", "entries": entries}), encoding="utf-8")
    return folder


def test_report_rows_show_n_missing_and_parse_failures_of_every_run(tmp_path: Path) -> None:
    row = {"name": "PubMedQA", "group": "QA", "headline": "accuracy", "parse_failure_rate": 0.0}
    failed = {"value": 0.0, "n": 1, "missing": 0, "parse_failures": 1, "parse_failure_rate": 1.0}
    base = _results(tmp_path / "base", [row | failed])
    tuned = _results(tmp_path / "tuned", [row | {"value": 1.0, "n": 1, "missing": 0, "parse_failures": 0}])
    data = write_report([base, tuned], tmp_path / "report")
    assert (data["rows"][0]["n"], data["rows"][0]["missing"], data["rows"][0]["parse_failures"]) == ([1, 1], [0, 0], [1, 0])
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    header = "| metric | lenient base | strict base | fail% lenient base | fail% strict base | lenient tuned |"
    assert header in text and "| Δ tuned | n base | missing base | parse fail base | n tuned |" in text
    # results without strict fields (an older biohub) show "–" there
    assert "| QA | PubMedQA | accuracy | 0.0 | – | 100.0 | – | 100.0 | – | 0.0 | – | +100.0 | 1 | 0 | 1 | 1 | 0 | 0 |" in text
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "<th>n tuned</th><th>missing tuned</th><th>parse fail tuned</th>" in page
    assert "<td>+100.0</td><td>1</td><td>0</td><td>1</td><td>1</td><td>0</td><td>0</td>" in page


def _adapter(model_dir: Path, folder: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(folder)
    return folder


def test_eval_reuses_outputs_only_for_the_same_adapter_content(
    demo_hub: Path, tmp_path: Path, suite_file: Path, tiny_model_dir: Path
) -> None:
    adapter, out = _adapter(tiny_model_dir, tmp_path / "adapter", seed=1), tmp_path / "eval"
    suite_file.write_text(MEDQA_SUITE.rsplit("\n  - ", 1)[0] + "\n", encoding="utf-8")  # the MedQA row only

    def run() -> dict[str, Any]:
        return evaluate(
            str(tiny_model_dir), load_suite(str(suite_file)), str(demo_hub), out, adapter=str(adapter), limit=2,
            max_new_tokens_cap=2, show_progress=False,
        )  # fmt: skip

    first = run()
    requests = first["generation"]["generated"]
    again = run()
    assert requests > 0 and (again["generation"]["generated"], again["generation"]["reused"]) == (0, requests)
    _adapter(tiny_model_dir, adapter, seed=2)  # other weights written in place, same path
    changed = run()
    assert (changed["generation"]["generated"], changed["generation"]["reused"]) == (requests, 0)
    weights = first["weights"]
    assert first["replaced_outputs"] is None and again["replaced_outputs"] is None
    assert set(weights["adapter"]["files"]) == {"adapter_config.json", "adapter_model.safetensors"}
    assert "model.safetensors" in weights["model"]["files"] and len(weights["model"]["sha256"]) == 64
    assert changed["weights"]["adapter"]["sha256"] != weights["adapter"]["sha256"]
    assert changed["weights"]["model"] == weights["model"]
    kept = out / changed["replaced_outputs"]  # the previous outputs are set aside, not lost
    assert kept.name.startswith("raw_outputs.") and len(kept.read_text(encoding="utf-8").splitlines()) == requests
    stamp = json.loads((out / "generation_settings.json").read_text(encoding="utf-8"))
    assert stamp["weights"] == {"model": weights["model"]["sha256"], "adapter": changed["weights"]["adapter"]["sha256"]}
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["weights"] == changed["weights"]


def test_a_merged_adapter_scores_as_the_unmerged_one(
    demo_hub: Path, tmp_path: Path, suite_file: Path, tiny_model_dir: Path
) -> None:
    import torch

    from biohub.models import load_model

    adapter = _adapter(tiny_model_dir, tmp_path / "adapter", seed=3)
    merged, tokenizer = load_model(str(tiny_model_dir), adapter=str(adapter), merge=True)
    unmerged, _ = load_model(str(tiny_model_dir), adapter=str(adapter))
    base, _ = load_model(str(tiny_model_dir))
    assert not hasattr(merged, "peft_config") and hasattr(unmerged, "peft_config")  # a plain model: no adapter layers
    ids = torch.tensor([tokenizer.encode("Which artery supplies the lateral medulla?")])
    with torch.no_grad():
        logits = [model(ids).logits for model in (merged, unmerged, base)]
    assert torch.allclose(logits[0], logits[1], atol=1e-5) and not torch.allclose(logits[1], logits[2], atol=1e-3)
    suite_file.write_text(MEDQA_SUITE.rsplit("\n  - ", 1)[0] + "\n", encoding="utf-8")  # the MedQA row only
    documents = {
        merge: evaluate(
            str(tiny_model_dir), load_suite(str(suite_file)), str(demo_hub), tmp_path / f"eval-{merge}", adapter=str(adapter),
            limit=2, max_new_tokens_cap=4, show_progress=False, resamples=0, merge_adapter=merge,
        )  # fmt: skip
        for merge in (True, False)
    }
    assert documents[True]["merged_adapter"] is True and documents[False]["merged_adapter"] is False
    outputs = {merge: read_done(tmp_path / f"eval-{merge}" / "raw_outputs.jsonl") for merge in documents}
    assert outputs[True] and outputs[True] == outputs[False]
    stamp = json.loads((tmp_path / "eval-False" / "generation_settings.json").read_text(encoding="utf-8"))
    assert stamp["merge_adapter"] is False
