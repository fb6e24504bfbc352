"""``biohub eval --backend vllm``: refused clearly where vLLM or a GPU is missing (every machine without them, CI
included); driven on the CPU through the stand-in ``vllm`` package of ``tests/fake_vllm`` (vLLM's interface over
transformers: replica processes and their GPUs, LoRA requests, resume, the parsing of prompt log-probabilities),
where its answers and log-likelihoods equal the ``hf`` backend's; on a lent GPU with vLLM installed (``pytest -m
gpu``), the real engine's against ``hf``'s on the tiny model."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.generate import read_done
from biohub.eval.run import evaluate
from biohub.eval.score import EvalError
from biohub.eval.suite import load_suite
from biohub.eval.vllm_backend import VllmOptions, lora_rank_limit, prompt_token_logprobs
from biohub.models import plain_model_source

HAS_VLLM = importlib.util.find_spec("vllm") is not None
FAKE_VLLM = Path(__file__).parents[1] / "fake_vllm"


def command(demo_hub: Path, out: Path, *more: str) -> list[str]:
    return [
        "eval", "--backend", "vllm", "--model", "default", "--suite", "taiyi_style", "--data", str(demo_hub),
        "--out", str(out), "--limit", "1", *more,
    ]  # fmt: skip


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_without_vllm_the_backend_is_refused_before_any_work(demo_hub: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, command(demo_hub, tmp_path / "out"))
    assert result.exit_code == 2 and "needs vLLM (pip install 'biohub[vllm]')" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_without_vllm_loglik_is_refused_too(demo_hub: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, command(demo_hub, tmp_path / "out", "--protocol", "loglik"))
    assert result.exit_code == 2 and "needs vLLM (pip install 'biohub[vllm]')" in result.output
    assert not (tmp_path / "out").exists()


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The stand-in ``vllm`` importable here and in spawned replicas (``sys.path`` travels with spawn), two GPUs
    counted, every engine start logged to the returned file."""
    import torch

    if HAS_VLLM:
        pytest.skip("the real vLLM is installed here: the gpu-marked tests use it")
    monkeypatch.syspath_prepend(str(FAKE_VLLM))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    log = tmp_path / "engines.jsonl"
    monkeypatch.setenv("FAKE_VLLM_LOG", str(log))
    return log


def engines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.is_file() else []


def rows(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["name"], e["value"], e["n"]) for e in document["entries"]]


def loglik_lines(folder: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (folder / "loglik.jsonl").read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row for row in rows}


def test_too_few_gpus_for_the_replicas_are_refused_before_any_work(
    fake_vllm: Path, demo_hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    arguments = ("--tensor-parallel-size", "2", "--protocol", "loglik")
    result = CliRunner().invoke(app, command(demo_hub, tmp_path / "out", *arguments))
    assert result.exit_code == 2 and "2 GPUs asked (tensor x data parallel), 1 visible" in result.output
    assert not (tmp_path / "out").exists() and not engines(fake_vllm)


@pytest.mark.slow
def test_the_models_repetition_penalty_applies_as_on_hf(
    fake_vllm: Path, demo_hub: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    model = tmp_path / "penalised"
    shutil.copytree(tiny_model_dir, model)
    config = json.loads((model / "generation_config.json").read_text(encoding="utf-8"))
    (model / "generation_config.json").write_text(json.dumps(config | {"repetition_penalty": 3.0}), encoding="utf-8")
    options = {"limit": 1, "max_new_tokens_cap": 12, "show_progress": False, "resamples": 0}
    for name, folder in (("plain", tiny_model_dir), ("hf", model)):
        hf = evaluate(str(folder), load_suite("taiyi_style"), str(demo_hub), tmp_path / name, batch_size=1, **options)
    served = evaluate(str(model), load_suite("taiyi_style"), str(demo_hub), tmp_path / "vllm", backend="vllm", **options)
    assert served["generation"]["new_tokens"] == hf["generation"]["new_tokens"]  # counted alike (no end token)
    answers = {name: read_done(tmp_path / name / "raw_outputs.jsonl") for name in ("plain", "hf", "vllm")}
    text = {name: {key: row["output"] for key, row in found.items()} for name, found in answers.items()}
    assert text["vllm"] == text["hf"] != text["plain"]  # the penalty changes the answers, on both backends


def test_a_rank_vllm_cannot_serve_is_refused_before_any_work(
    fake_vllm: Path, demo_hub: Path, tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 1024}), encoding="utf-8")
    result = CliRunner().invoke(app, command(demo_hub, tmp_path / "out", "--adapter", str(adapter)))
    assert result.exit_code == 2 and "LoRA rank 1024 is above vLLM's largest max_lora_rank (512)" in result.output
    assert not (tmp_path / "out").exists() and not engines(fake_vllm)


@pytest.mark.parametrize(("rank", "limit"), [(1, 8), (8, 8), (12, 16), (64, 64), (300, 320), (512, 512)])
def test_the_adapters_rank_is_raised_to_a_max_lora_rank_vllm_accepts(tmp_path: Path, rank: int, limit: int) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": rank}), encoding="utf-8")
    assert lora_rank_limit(str(tmp_path)) == limit


def test_an_adapter_above_vllms_largest_rank_is_refused(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 1024}), encoding="utf-8")
    with pytest.raises(EvalError, match="LoRA rank 1024 is above vLLM's largest max_lora_rank"):
        lora_rank_limit(str(tmp_path))


def test_prompt_logprobs_are_read_at_the_prompts_own_tokens() -> None:
    from types import SimpleNamespace

    def entry(value: float) -> SimpleNamespace:
        return SimpleNamespace(logprob=value)

    found = [None, {7: entry(-0.5), 3: entry(-2.0)}, {9: entry(-0.1)}, {4: -1.5}]  # top token first; old vLLM: floats
    assert prompt_token_logprobs([1, 3, 9, 4], found) == [None, -2.0, -0.1, -1.5]
    assert prompt_token_logprobs([1, 3], [None, {7: entry(-0.5)}]) == [None, None]  # absent: the option is refused later
    with pytest.raises(EvalError, match="returned 1 prompt log-probabilities for 2 tokens"):
        prompt_token_logprobs([1, 3], [None])


def test_loglik_over_the_engine_equals_hf(fake_vllm: Path, demo_hub: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    options = {"limit": 3, "show_progress": False, "resamples": 0, "protocol": "loglik"}
    local = evaluate(str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), tmp_path / "hf", **options)
    served = evaluate(str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), tmp_path / "vllm", backend="vllm", **options)
    hf, engine = loglik_lines(tmp_path / "hf"), loglik_lines(tmp_path / "vllm")
    assert hf and set(hf) == set(engine)
    for key, row in hf.items():
        assert engine[key]["logliks"] == pytest.approx(row["logliks"], abs=1e-4), key
        assert (engine[key]["pred"], engine[key]["pred_norm"]) == (row["pred"], row["pred_norm"]), key
    assert rows(served) == rows(local)
    assert served["backend"] == "vllm" and served["protocol"] == "loglik" and served["vllm"]["data_parallel_size"] == 1
    assert served["weights"]["model"] == local["weights"]["model"]
    started = engines(fake_vllm)  # one engine, in a process of its own, on the first GPU
    assert [(line["devices"], line["enable_lora"], line["enable_prefix_caching"]) for line in started] == [("0", False, False)]
    assert started[0]["pid"] != os.getpid()


@pytest.mark.slow
def test_both_protocols_with_an_adapter_over_two_replicas_and_a_failed_replica_resumed(
    fake_vllm: Path, demo_hub: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(5)
    adapter = tmp_path / "adapter"
    lora = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), lora).save_pretrained(adapter)
    options = {"limit": 2, "max_new_tokens_cap": 8, "show_progress": False, "resamples": 0, "adapter": str(adapter)}
    hf = evaluate(str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), tmp_path / "hf", batch_size=1,
                  merge_adapter=False, protocol="both", **options)  # fmt: skip
    out, two = tmp_path / "vllm", {"backend": "vllm", "vllm": VllmOptions(data_parallel_size=2), "protocol": "both"}
    monkeypatch.setenv("FAKE_VLLM_FAIL_ON", "1")  # the second replica fails to start: the first one's answers are kept
    with pytest.raises(EvalError, match=r"1 replica\(s\) failed"):
        evaluate(str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), out, **two, **options)
    kept = read_done(out / "raw_outputs.jsonl")
    assert 0 < len(kept) < len(read_done(tmp_path / "hf" / "raw_outputs.jsonl"))
    assert not list(out.glob("*.replica*.jsonl"))  # replicas append to raw_outputs.jsonl itself: no file of their own
    monkeypatch.delenv("FAKE_VLLM_FAIL_ON")
    served = evaluate(str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), out, **two, **options)
    assert served["generation"]["reused"] == len(kept) and served["generation"]["generated"] > 0
    answers = {key: row["output"] for key, row in read_done(out / "raw_outputs.jsonl").items()}
    expected = {key: row["output"] for key, row in read_done(tmp_path / "hf" / "raw_outputs.jsonl").items()}
    assert answers == expected  # the adapter unmerged (vLLM's LoRA) answers as hf's unmerged adapter, one at a time
    for key, row in loglik_lines(tmp_path / "hf").items():
        assert loglik_lines(out)[key]["logliks"] == pytest.approx(row["logliks"], abs=1e-4), key
    assert rows(served) == rows(hf)
    assert served["protocol"] == "both" and served["vllm"]["data_parallel_size"] == 2
    started = engines(fake_vllm)  # failed run: replicas 0 and 1 (1 failed); then generation and scoring, 2 replicas each
    assert sorted(line["devices"] for line in started) == ["0", "0", "0", "1", "1"]
    generating = [line for line in started if line["enable_prefix_caching"] is None]  # vLLM's default
    scoring = [line for line in started if line["enable_prefix_caching"] is False]
    assert len(generating) == 3 and len(scoring) == 2
    assert all(line["enable_lora"] and line["max_lora_rank"] == 8 for line in generating)  # rank 2, raised to 8
    assert all(not line["enable_lora"] and "/merged/" in line["model"] for line in scoring)  # the adapter merged
    assert len({line["pid"] for line in started}) == len(started)  # every engine in a process of its own
    assert "CUDA_VISIBLE_DEVICES" not in os.environ  # each replica was started with its GPUs; this process's are as before


def test_the_default_gguf_becomes_a_plain_folder_an_engine_can_read() -> None:
    folder = Path(plain_model_source("default"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "llama" and (folder / "tokenizer_config.json").is_file()
    assert plain_model_source(str(folder)) == str(folder)  # a folder is read as it is


NEEDS_REAL_VLLM = pytest.mark.skipif(not HAS_VLLM, reason="vLLM is not installed (pip install 'biohub[vllm]')")


@pytest.fixture(scope="module")
def engine_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with attention heads 64 wide (hidden 128, 2 heads), a size every vLLM attention backend takes
    (the default tiny model's 16 is not)."""
    import torch

    from biohub.models import load_tokenizer, tiny_model

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    folder = tmp_path_factory.mktemp("engine-model")
    tokenizer = load_tokenizer("default")
    tiny_model(tokenizer, hidden=128, heads=2).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.gpu
@NEEDS_REAL_VLLM
def test_vllm_answers_as_hf_does(demo_hub: Path, engine_model: Path, tmp_path: Path) -> None:
    options = {"limit": 2, "max_new_tokens_cap": 8, "show_progress": False, "resamples": 0}
    hf = evaluate(str(engine_model), load_suite("taiyi_style"), str(demo_hub), tmp_path / "hf", batch_size=1, **options)
    served = evaluate(str(engine_model), load_suite("taiyi_style"), str(demo_hub), tmp_path / "vllm", backend="vllm", **options)
    answers = {key: row["output"] for key, row in read_done(tmp_path / "vllm" / "raw_outputs.jsonl").items()}
    expected = {key: row["output"] for key, row in read_done(tmp_path / "hf" / "raw_outputs.jsonl").items()}
    same = sum(answers[key] == expected[key] for key in expected)
    assert same >= 0.9 * len(expected)  # greedy on different kernels (bf16/fp32): near-ties may differ
    assert served["backend"] == "vllm" and len(served["entries"]) == len(hf["entries"])


@pytest.mark.gpu
@NEEDS_REAL_VLLM
def test_vllm_log_likelihoods_as_hf_gives_them(demo_hub: Path, engine_model: Path, tmp_path: Path) -> None:
    options = {"limit": 3, "show_progress": False, "resamples": 0, "protocol": "loglik"}
    evaluate(str(engine_model), load_suite("taiyi_style"), str(demo_hub), tmp_path / "hf", **options)
    served = evaluate(str(engine_model), load_suite("taiyi_style"), str(demo_hub), tmp_path / "vllm", backend="vllm", **options)
    hf, engine = loglik_lines(tmp_path / "hf"), loglik_lines(tmp_path / "vllm")
    assert hf and set(hf) == set(engine) and served["backend"] == "vllm"
    for key, row in hf.items():  # vLLM runs a float32 model in half precision ("auto")
        assert engine[key]["logliks"] == pytest.approx(row["logliks"], rel=0.05, abs=0.05), key
    same = sum(engine[key]["pred"] == row["pred"] for key, row in hf.items())
    assert same >= 0.9 * len(hf)
