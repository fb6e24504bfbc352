"""The log-likelihood protocol: calibration figures on hand-computed fixtures, lm-eval's acc / acc_norm definitions,
the cached-context scoring against a full forward pass, and ``biohub eval --protocol loglik|both`` on the demo hub."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.calibration import brier_score, expected_calibration_error, reliability_bins
from biohub.eval.loglik import ChoiceQuestion, OptionScores, batch_logliks, choice_question, encode_question, option_logliks
from biohub.eval.run import select
from biohub.eval.suite import load_suite, resolve

# Five questions. Top probabilities 0.9, 0.6, 0.55, 0.8, 0.62 fall in bins 9, 6, 5, 8, 6; correct: yes, no, yes, yes,
# yes. Bin 6 holds two questions: accuracy 0.5, mean confidence 0.61.
PROBABILITIES = [[0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.2, 0.8], [0.62, 0.38]]
GOLD = [0, 1, 0, 1, 0]


def test_ece_by_hand() -> None:
    # (1 * |1 - 0.9| + 2 * |0.5 - 0.61| + 1 * |1 - 0.55| + 1 * |1 - 0.8|) / 5 = (0.1 + 0.22 + 0.45 + 0.2) / 5
    assert expected_calibration_error(PROBABILITIES, GOLD) == pytest.approx(0.194, abs=1e-12)
    bins = reliability_bins(PROBABILITIES, GOLD)
    assert [(b.lower, b.n) for b in bins] == [(0.5, 1), (0.6, 2), (0.8, 1), (0.9, 1)]
    assert bins[1].accuracy == 0.5 and bins[1].confidence == pytest.approx(0.61)
    assert expected_calibration_error([[1.0, 0.0]], [1]) == 1.0  # a confidence of 1.0 is in the last bin; wrong
    assert expected_calibration_error([], []) == 0.0


def test_brier_by_hand() -> None:
    # 0.02 + 0.72 + 0.405 + 0.08 + 0.2888 = 1.5138 over 5 questions
    assert brier_score(PROBABILITIES, GOLD) == pytest.approx(0.30276, abs=1e-12)
    assert brier_score([[0.5, 0.3, 0.2]], [2]) == pytest.approx(0.25 + 0.09 + 0.64)  # three options
    assert brier_score([[0.0, 1.0, 0.0]], [0]) == 2.0  # the worst


def test_acc_and_acc_norm_as_lm_eval_defines_them() -> None:
    # acc: argmax of the log-likelihoods; acc_norm: argmax of loglik / len(choice) in characters (no delimiter)
    scores = OptionScores("q", (-2.0, -1.5), ("maybe", "no"), 0)
    assert scores.pred == 1 and scores.pred_norm == 0  # -2/5 = -0.4 > -1.5/2 = -0.75
    assert scores.probabilities == pytest.approx([1 / (1 + math.exp(0.5)), 1 / (1 + math.exp(-0.5))])
    assert OptionScores("q", (-1.0, -1.0), ("A", "B"), 1).pred == 0  # ties: the first option, as numpy.argmax
    line = scores.line("pubmedqa", "qa_yesno")
    assert line["acc"] == 0.0 and line["acc_norm"] == 1.0 and line["gold_index"] == 0


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> tuple[object, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def full_forward(model: object, context: list[int], option: list[int]) -> float:
    """The option's summed log-probability from one forward pass over context + option (no cache)."""
    import torch

    ids = context + option
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), dim=-1)  # type: ignore[operator]
    return sum(float(logprobs[len(context) - 1 + i, token]) for i, token in enumerate(option))


def test_cached_context_with_batched_options_equals_full_forward(tiny: tuple[object, object]) -> None:
    model, tokenizer = tiny
    question = ChoiceQuestion(
        "q", "<|im_start|>user\nIs it?<|im_end|>\n<|im_start|>assistant\nAnswer:", (" yes", " no", " not known at all", "症状"),
        ("yes", "no", "not known at all", "症状"), 0,
    )  # fmt: skip
    context, options = encode_question(tokenizer, question)
    assert sorted({len(ids) for ids in options}) != [1]  # options of one and of several tokens
    found = option_logliks(model, context, options, pad=0)
    assert found == pytest.approx([full_forward(model, context, ids) for ids in options], abs=1e-4)


def test_a_left_padded_batch_of_questions_equals_each_question_alone(tiny: tuple[object, object]) -> None:
    model, tokenizer = tiny
    texts = ("Short question? Answer:", "A much longer context, with more words in it. Answer:")
    contexts = [tokenizer.encode(text) for text in texts]  # the first is left-padded in the batch
    options = [[tokenizer.encode(text) for text in pair] for pair in ((" yes", " no idea at all"), (" B", " 否认"))]
    found = batch_logliks(model, contexts, options, pad=0)
    assert len(contexts[0]) < len(contexts[1])
    assert found[1] == pytest.approx(option_logliks(model, contexts[1], options[1], 0), abs=1e-4)
    for context, question, values in zip(contexts, options, found):
        assert values == pytest.approx([full_forward(model, context, ids) for ids in question], abs=1e-4)


def test_choice_question_is_the_exported_choice_doc_under_the_chat_template(demo_hub: Path, tiny: tuple[object, object]) -> None:
    _, tokenizer = tiny
    entries = [e for e in resolve(load_suite("taiyi_style"), str(demo_hub)) if e.dataset in ("medqa_usmle", "kuake_qic")]
    rows = select(str(demo_hub), entries, 1, 0)
    first = {e.dataset: rows[e.name][0] for e in entries}
    english, chinese = (choice_question(first[name], tokenizer)[0] for name in ("medqa_usmle", "kuake_qic"))
    assert english is not None and chinese is not None
    assert english.context.endswith("<|im_start|>assistant\nAnswer:") and english.continuations[0] == " A"
    assert chinese.context.endswith("<|im_start|>assistant\n结果：") and chinese.continuations == chinese.choices  # no gap
    assert english.choices[english.gold] == json.loads(first["medqa_usmle"]["gold"])["value"][0]


def test_eval_loglik_scores_closed_rows_only_and_both_adds_the_gap(demo_hub: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    runner = CliRunner()
    common = ["--model", str(tiny_model_dir), "--suite", "taiyi_style", "--data", str(demo_hub), "--limit", "2"]
    result = runner.invoke(app, ["eval", *common, "--out", str(tmp_path / "loglik"), "--protocol", "loglik"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "loglik" / "results.json").read_text())
    assert document["protocol"] == "loglik" and document["loglik"]["rows_skipped"] == 7
    assert [e["name"] for e in document["entries"]] == ["KUAKE-QIC-dev", "PubMedQA", "MedQA-USMLE"]
    lines = [json.loads(line) for line in (tmp_path / "loglik" / "loglik.jsonl").read_text().splitlines()]
    assert len(lines) == document["loglik"]["questions"] == sum(e["n"] for e in document["entries"])
    for entry in document["entries"]:
        assert entry["headline"] == "acc" and entry["value"] == entry["metrics"]["acc"] == entry["loglik"]["acc"]
        mine = [line for line in lines if line["dataset"] == entry["dataset"]]
        assert entry["metrics"]["acc_norm"] == sum(line["acc_norm"] for line in mine) / len(mine)
        assert set(entry["metrics"]) == {"acc", "acc_norm", "ece", "brier"}
    assert (tmp_path / "loglik" / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "loglik" / "generations.jsonl").read_text() == ""  # nothing generated
    bad = runner.invoke(app, ["eval", *common, "--out", str(tmp_path / "x"), "--protocol", "logprob"])
    assert bad.exit_code == 2 and "--protocol" in bad.output


@pytest.mark.slow  # generation of 20 answers on the tiny model, then the loglik pass (about 6 s)
def test_eval_both_keeps_the_generate_rows_and_adds_loglik_and_the_gap(
    demo_hub: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    common = ["--model", str(tiny_model_dir), "--suite", "taiyi_style", "--data", str(demo_hub), "--limit", "2"]
    both = tmp_path / "both"
    result = CliRunner().invoke(app, ["eval", *common, "--out", str(both), "--protocol", "both", "--max-new-tokens", "4"])
    assert result.exit_code == 0, result.output
    document = json.loads((both / "results.json").read_text())
    entries = {e["name"]: e for e in document["entries"]}
    assert len(entries) == 10 and entries["HoC"]["loglik"] is None and entries["PubMedQA"]["headline"] == "accuracy"
    assert document["loglik"]["rows_scored"] == 3
    assert document["generation"]["generated"] == len(read_lines(both / "generations.jsonl"))
    lines = read_lines(both / "loglik.jsonl")
    for name in ("KUAKE-QIC-dev", "PubMedQA", "MedQA-USMLE"):
        entry = entries[name]
        found, mine = entry["loglik"], [line for line in lines if line["dataset"] == entry["dataset"]]
        assert entry["protocol"] == "both" and found["acc"] == sum(line["acc"] for line in mine) / len(mine) and found["n"] == 2
        assert found["gap"] == pytest.approx(entry["value"] - found["acc"])
    report = (both / "report.md").read_text()
    assert "loglik acc both" in report and "gap both" in report


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
