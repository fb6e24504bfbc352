"""``biohub eval --protocol loglik`` equals lm-eval: the exported ``multiple_choice`` tasks of the same rows, run by
lm-eval's own HF backend on the tiny model with ``--apply_chat_template``, give every question the same ``acc`` and
``acc_norm`` as biohub's log-likelihood scorer (and the same option log-likelihoods up to float rounding), over every
choice family: English and Chinese multiple choice, yes/no, binary relations, classification, pair labels, entailment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from biohub.eval.loglik import score_entries
from biohub.eval.run import select
from biohub.eval.suite import load_suite, resolve
from biohub.hub.export import export
from tests.hub.test_export import make_hub

lm_eval = pytest.importorskip("lm_eval", reason="lm-eval is not importable (pip install biohub[export])", exc_type=ImportError)

CORPORA = ["chip_sts", "cmexam", "gad", "kuake_qic", "medqa_usmle", "mediqa_rqe", "pubmedqa"]


@pytest.fixture(autouse=True)
def _private_datasets_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")


@pytest.mark.slow  # the hub, lm-eval's harness and both scorers over about 30 questions (about 15 s)
def test_biohub_loglik_equals_lm_eval_question_by_question(tmp_path: Path, tiny_model_dir: Path) -> None:
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from biohub.models import load_model

    hub = make_hub(tmp_path, CORPORA)
    summary = export(hub, "lm-eval", tmp_path / "out")["loglik"]
    tasks = sorted(summary["tasks"])
    assert {task["family"] for task in summary["tasks"].values()} == {
        "qa_multiple_choice", "qa_yesno", "re_binary", "classification", "pair_classification", "entailment"
    }  # fmt: skip
    manager = TaskManager(include_path=str(tmp_path / "out"), include_defaults=False)
    results = lm_eval.simple_evaluate(
        model=HFLM(pretrained=str(tiny_model_dir), device="cpu", batch_size=16), tasks=tasks, task_manager=manager,
        log_samples=True, bootstrap_iters=0, apply_chat_template=True,
    )  # fmt: skip

    model, tokenizer = load_model(str(tiny_model_dir), device="cpu")
    entries = resolve(load_suite("all"), str(hub))
    run = score_entries(model, tokenizer, entries, select(str(hub), entries, None, 0), show_progress=False)
    compared = 0
    for name in tasks:
        samples: list[dict[str, Any]] = results["samples"][name]
        hits = []
        for sample in samples:
            mine = run.scores[sample["doc"]["id"]]
            assert list(mine.logliks) == pytest.approx([resp[0][0] for resp in sample["resps"]], abs=1e-4), name
            assert (float(mine.pred == mine.gold), float(mine.pred_norm == mine.gold)) == (sample["acc"], sample["acc_norm"])
            hits.append(mine.pred == mine.gold)
            compared += 1
        assert results["results"][name]["acc,none"] == pytest.approx(sum(hits) / len(hits), abs=1e-12), name
    assert compared == summary["rows"] == len(run.scores)
    for name, task in summary["tasks"].items():  # the row of the `all` suite with these questions has lm-eval's acc
        dataset = task["config"].removesuffix("_instructions")
        row = next(value for key, value in run.rows.items() if key.startswith(f"{dataset}/{task['split']}"))
        assert row["acc"] == pytest.approx(results["results"][name]["acc,none"], abs=1e-12), name
        assert row["acc_norm"] == pytest.approx(results["results"][name]["acc_norm,none"], abs=1e-12), name
