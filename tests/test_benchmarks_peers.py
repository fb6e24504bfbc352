"""The pieces of ``benchmarks/peers.py`` whose correctness its figures rest on: the build-cost fit, the conversion
baseline reading every source record, the evaluation tools answering the same questions, and TRL training exactly
what biohub trains (the same examples, tokens and supervised positions, the same loss)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import peers_convert  # noqa: E402  (benchmarks/ is not a package)
import peers_eval  # noqa: E402
import peers_scale  # noqa: E402
import peers_train  # noqa: E402


def test_growth_of_a_line_and_of_curves_either_way() -> None:
    line = peers_scale.linear_fit([0, 1000, 2000, 4000], [10, 12, 14, 18])  # 2 s per 1,000 + 10 s
    assert line["seconds_per_1000"] == pytest.approx(2.0)
    assert line["intercept_s"] == pytest.approx(10.0)
    assert line["r2"] == pytest.approx(1.0)
    assert line["marginal_s_per_1000"] == pytest.approx([2.0, 2.0, 2.0])
    assert line["growth"] == "linear"
    curve = peers_scale.linear_fit([0, 1000, 2000, 3000], [0, 1, 4, 9])  # quadratic: marginal 1, 3, 5 s per 1,000
    assert curve["marginal_s_per_1000"] == pytest.approx([1.0, 3.0, 5.0])
    assert curve["growth"] == "super-linear"
    recorded = peers_scale.linear_fit([3717, 12374, 51765, 153655], [51.9, 56.8, 82.7, 113.8])  # BENCHMARKS.md's build
    assert recorded["r2"] == pytest.approx(0.965, abs=0.001) and recorded["growth"] == "sub-linear"
    flat = peers_scale.linear_fit([0, 1000, 2000, 3000], [0, 5, 9, 10])  # marginal 5, 4, 1: the line misses, cheaper later
    assert flat["r2"] < 0.98 and flat["growth"] == "sub-linear"


@pytest.mark.parametrize("name", ["bc2gm", "chip_ctc"])
def test_conversion_baseline_reads_every_source_record(mirror: Path, name: str) -> None:
    from biohub.converters.catalog import load_catalog

    expected = sum(split["records"] for split in load_catalog()[name].expected.values())
    assert peers_convert.baseline_child(str(mirror), name)["records"] == expected


def test_conversion_baseline_refuses_other_formats() -> None:
    with pytest.raises(ValueError, match="pubmedqa"):
        peers_convert.source_files("/nowhere", "pubmedqa")


def test_biohub_scores_the_docs_lm_eval_takes_first(hub: Path, tmp_path: Path) -> None:
    tasks = peers_eval.export_tasks(str(hub), ["medqa_usmle"], tmp_path / "tasks")["medqa_usmle"]
    for protocol in ("loglik", "generate"):
        ids = peers_eval.first_ids(tmp_path / "tasks", tasks[protocol], 3)
        assert len(ids) == 3
        entries, rows = peers_eval._rows(str(hub), "medqa_usmle", tasks["split"], ids)
        assert sorted(row["id"] for found in rows.values() for row in found) == sorted(ids)


@pytest.mark.slow  # two short training runs of the tiny model, one through TRL (about 20 s)
def test_trl_trains_exactly_what_biohub_trains(hub: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("trl", reason="TRL is not installed (pip install biohub[bench])", exc_type=ImportError)
    from biohub.hub.chat_template import TRAINING_CHAT_TEMPLATE
    from biohub.models import load_tokenizer
    from biohub.training.recipe import LLAMA_PROJECTIONS

    rows = peers_train.sample_rows(str(hub), "mix_stage2", 24, 0)
    sample_hub, messages = peers_train.write_sample(rows, tmp_path, "sample")
    template = tmp_path / "chat_template.jinja"
    template.write_text(TRAINING_CHAT_TEMPLATE, encoding="utf-8")
    setup = asdict(
        peers_train.TrainSetup(
            model_dir=str(tiny_model_dir),
            hub=str(sample_hub),
            config="sample",
            messages=str(messages),
            template=str(template),
            max_length=512,
            rows=1,
            accumulation=2,
            steps=2,
            learning_rate=1e-3,
            lora_r=8,
            lora_alpha=16,
            lora_dropout=0.0,
            targets=list(LLAMA_PROJECTIONS),
            padded_batch=2,
        )  # fmt: skip
    )
    tokenizer = load_tokenizer(str(tiny_model_dir))
    theirs = peers_train.trl_child(setup, digests=True)  # every example as TRL prepares it, from its packed rows
    assert theirs.pop("digests") == dict(peers_train.biohub_digests(str(messages), tokenizer))
    assert theirs["steps"] == 2 and theirs["tokens_per_s"] > 0

    one = peers_train.one_step_rows(rows, tokenizer, peers_train.TrainSetup(**setup))
    assert 1 < len(one) < len(rows)
    one_hub, one_messages = peers_train.write_sample(one, tmp_path, "one")
    check = setup | {"hub": str(one_hub), "config": "one", "messages": str(one_messages), "steps": 1}
    mine, theirs = peers_train.biohub_child(check), peers_train.trl_child(check)
    assert (mine["tokens"], mine["supervised"]) == (theirs["tokens"], theirs["supervised"]) and mine["supervised"] > 0
    assert mine["tokens"] == sum(len(tokenizer.apply_chat_template(row["messages"])["input_ids"]) for row in one)
    assert mine["loss_step1"] == pytest.approx(theirs["loss_step1"], abs=1e-4)


@pytest.mark.parametrize("bf16_rounds", [0, 1, 3])
def test_train_part_alternates_the_tools_and_runs_the_bf16_column_for_its_rounds(
    hub: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bf16_rounds: int
) -> None:
    import argparse

    import peers

    calls: list[tuple[str, bool]] = []

    def fake_child(function: object, setup: dict[str, object], **extra: object) -> dict[str, object]:
        calls.append((getattr(function, "__name__", ""), bool(extra.get("bf16"))))
        speed = 200.0 if function is peers_train.biohub_child else 100.0
        return {"tokens_per_s": speed, "supervised_per_s": speed / 10, "peak_rss_mib": 1000, "loss_step1": 1.5,
                "tokens": 900, "supervised": 80, "losses": [1.5, 1.2], "padding_fraction": 0.25}  # fmt: skip

    monkeypatch.setattr(peers, "in_child", fake_child)
    args = argparse.Namespace(train_examples=12, seed=0, max_length=512, train_steps=3, rounds=3, bf16_rounds=bf16_rounds)
    result = peers.train_part(args, str(hub), tiny_model_dir, tmp_path)
    timed = calls[:-2]  # the last two: the one-step loss check, biohub then TRL
    assert calls[-2:] == [("biohub_child", False), ("trl_child", False)]
    assert sum(name == "biohub_child" for name, _ in timed) == 3
    assert sum(name == "trl_child" and not bf16 for name, bf16 in timed) == 3
    assert sum(name == "padded_child" for name, _ in timed) == 3
    assert sum(bf16 for _, bf16 in timed) == bf16_rounds
    second_round = 4 if bf16_rounds else 3  # round 1 ran every tool of it; round 2 starts with TRL (the order rotates)
    assert timed[0] == ("biohub_child", False) and timed[second_round] == ("trl_child", False)
    assert result["ratio_vs_trl"] == pytest.approx(2.0)
    if bf16_rounds:
        assert result["summary"]["TRL (bf16)"]["rounds"] == bf16_rounds
        assert result["ratio_vs_trl_bf16"] == pytest.approx(2.0)
    else:
        assert "TRL (bf16)" not in result["summary"] and result["ratio_vs_trl_bf16"] is None
    peers.report({"machine": "test", "versions": {}, "rounds": 3, "batch_size": 16, "train": result})  # prints
