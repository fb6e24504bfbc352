"""``biohub eval --backend openai`` against a real HTTP server on 127.0.0.1 (``tests/serving.py``: biohub's own greedy
generation of the tiny model behind an OpenAI-compatible API; the client is the real ``openai`` SDK): the same outputs
and results as ``--backend hf``, retries, the request budget, resuming without repeating a finished request (also
after a SIGKILL), the key never in output, logs or files, and the refusals."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.generate import read_done
from biohub.eval.run import EvalError, Server, evaluate
from biohub.eval.suite import load_suite
from tests.serving import ServerState, serving

pytest.importorskip("uvicorn", reason="the test server needs uvicorn and starlette (pip install biohub[dev])")

SERVED = "tiny-served"
KEY = "sk-test-5f0c1d2e3a4b"
CAP = 8  # tokens per answer: the tiny model rarely stops by itself


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> tuple[Any, Any]:
    from biohub.models import load_model

    return load_model(str(tiny_model_dir))


@pytest.fixture
def server(tiny: tuple[Any, Any]) -> Iterator[tuple[str, ServerState]]:
    state = ServerState(SERVED)
    with serving(*tiny, state) as url:
        yield url, state


def remote(url: str, demo_hub: Path, out: Path, **options: Any) -> dict[str, Any]:
    keys = ("concurrency", "retries", "max_requests", "max_tokens_total", "tokenizer")
    server_options = {key: options.pop(key) for key in keys if key in options}
    limit = options.pop("limit", 2)
    return evaluate(
        SERVED, load_suite("taiyi_style"), str(demo_hub), out, limit=limit, max_new_tokens_cap=CAP, show_progress=False,
        resamples=0, backend="openai", server=Server(url, **server_options), **options,
    )  # fmt: skip


def test_openai_backend_scores_the_taiyi_style_suite_as_hf_does(
    server: tuple[str, ServerState], demo_hub: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    url, state = server
    local = evaluate(
        str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), tmp_path / "hf", limit=2, max_new_tokens_cap=CAP,
        show_progress=False, resamples=0, batch_size=1,
    )  # fmt: skip
    served = remote(url, demo_hub, tmp_path / "openai", concurrency=3)
    outputs = {key: row["output"] for key, row in read_done(tmp_path / "hf" / "raw_outputs.jsonl").items()}
    answered = read_done(tmp_path / "openai" / "raw_outputs.jsonl")
    assert outputs and {key: row["output"] for key, row in answered.items()} == outputs  # greedy: the same answers
    assert len(state.bodies) == len(outputs) and {body["temperature"] for body in state.bodies} == {0.0}

    def rows(document: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(e["name"], e["headline"], e["value"], e["n"], e["parse_failures"], e["metrics"]) for e in document["entries"]]

    assert rows(served) == rows(local) and len(served["entries"]) == 10
    assert served["backend"] == "openai" and served["served_model"] == SERVED and served["base_url"] == url
    assert served["generation"]["requests"] == len(outputs) and served["generation"]["tokens_reported"] > 0
    assert local["backend"] == "hf" and local["weights"]["model"] is not None
    generations = (tmp_path / "openai" / "generations.jsonl").read_text(encoding="utf-8")
    assert generations == (tmp_path / "hf" / "generations.jsonl").read_text(encoding="utf-8")


def test_retries_budget_resume_and_the_key(
    server: tuple[str, ServerState], demo_hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    url, state = server
    monkeypatch.setenv("BIOHUB_EVAL_KEY", KEY)
    monkeypatch.setattr("biohub.chat_client.time.sleep", lambda seconds: None)  # the backoff's waits, not the server's
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "run"
    state.statuses = [429, 503, 500]  # retried: three more requests, the same answers
    with pytest.raises(EvalError, match="request budget of 6 spent"):
        remote(url, demo_hub, out, concurrency=1, max_requests=6)
    first = read_done(out / "raw_outputs.jsonl")
    assert len(first) == 3 and len(state.bodies) == 6  # three failed attempts, three answers written
    assert not (out / "results.json").exists()
    document = remote(url, demo_hub, out, concurrency=2)  # the rest, never a finished request again
    done = read_done(out / "raw_outputs.jsonl")
    sent = [json.dumps(body["messages"], sort_keys=True) for body in state.bodies[6:]]
    assert len(sent) == len(set(sent)) == len(done) - 3 == document["generation"]["generated"]
    assert {json.dumps(m, sort_keys=True) for m in _messages(demo_hub, first)}.isdisjoint(sent)
    assert document["generation"]["reused"] == 3 and set(state.authorizations) == {f"Bearer {KEY}"}
    for path in out.rglob("*"):
        assert not path.is_file() or KEY.encode() not in path.read_bytes(), path
    assert KEY not in caplog.text
    state.statuses = [400]  # not retried: one line, no key
    result = CliRunner().invoke(
        app,
        [
            "eval", "--backend", "openai", "--base-url", url, "--model", SERVED, "--suite", "taiyi_style", "--data",
            str(demo_hub), "--out", str(tmp_path / "cli"), "--limit", "1", "--max-new-tokens", str(CAP),
        ],
    )  # fmt: skip
    assert result.exit_code == 2 and "HTTP 400 (not retried)" in result.output and KEY not in result.output


def test_answers_in_flight_when_a_request_fails_are_kept_and_the_token_budget_stops_a_run(
    server: tuple[str, ServerState], demo_hub: Path, tmp_path: Path
) -> None:
    url, state = server
    state.statuses = [400]  # the first request the server receives fails for good; three more are in flight
    with pytest.raises(EvalError, match="HTTP 400"):
        remote(url, demo_hub, tmp_path / "failed", concurrency=4)
    assert len(state.bodies) == 4  # nothing sent after the failure
    assert len(read_done(tmp_path / "failed" / "raw_outputs.jsonl")) == 3  # the three paid answers are written
    before = len(state.bodies)
    with pytest.raises(EvalError, match="token budget of 1 spent"):
        remote(url, demo_hub, tmp_path / "budget", concurrency=1, max_tokens_total=1)
    assert len(state.bodies) - before == 1 and len(read_done(tmp_path / "budget" / "raw_outputs.jsonl")) == 1


def _messages(demo_hub: Path, done: dict[str, dict[str, Any]]) -> list[list[dict[str, str]]]:
    """The prompt conversations of the examples in ``done``."""
    from biohub.eval.run import select
    from biohub.eval.suite import resolve

    suite = load_suite("taiyi_style")
    rows = select(str(demo_hub), resolve(suite, str(demo_hub)), 2, 0)
    found = {row["id"]: row["messages"][:-1] for entry_rows in rows.values() for row in entry_rows}
    return [found[key] for key in done]


@pytest.mark.slow
def test_a_killed_run_resumes_without_repeating_a_finished_request(
    server: tuple[str, ServerState], demo_hub: Path, tmp_path: Path
) -> None:
    url, state = server
    state.hang_after = 4  # the fifth request is held until the run is killed
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "biohub", "eval", "--backend", "openai", "--base-url", url, "--model", SERVED, "--suite",
        "taiyi_style", "--data", str(demo_hub), "--out", str(out), "--limit", "2", "--max-new-tokens", str(CAP),
        "--concurrency", "1", "--resamples", "0",
    ]  # fmt: skip
    environment = os.environ | {"HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + 120
    while len(state.bodies) < 5:
        assert process.poll() is None and time.monotonic() < deadline, "the run ended or stalled before its fifth request"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = read_done(out / "raw_outputs.jsonl")
    assert len(written) == 4 and not (out / "results.json").exists()
    state.hang_after = None
    state.release.set()
    document = remote(url, demo_hub, out, concurrency=2)
    resent = [json.dumps(body["messages"], sort_keys=True) for body in state.bodies[5:]]
    assert {json.dumps(m, sort_keys=True) for m in _messages(demo_hub, written)}.isdisjoint(resent)
    assert document["generation"]["reused"] == 4 and len(resent) == document["generation"]["generated"]
    assert all(entry["n"] >= 1 for entry in document["entries"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--backend", "openai"], "needs --base-url"),
        (["--backend", "openai", "--base-url", "127.0.0.1:8000"], "needs --base-url http"),
        (["--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--adapter", "x"], "serve the adapter"),
        (["--base-url", "http://127.0.0.1:9/v1"], "is for --backend openai"),
        (["--backend", "tgi"], "expected one of hf, openai, vllm"),
    ],
)
def test_refusals(demo_hub: Path, tmp_path: Path, arguments: list[str], message: str) -> None:
    common = ["eval", "--model", SERVED, "--suite", "taiyi_style", "--data", str(demo_hub), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*common, *arguments])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "o").exists()


def test_loglik_through_the_servers_prompt_logprobs_equals_hf(
    server: tuple[str, ServerState], demo_hub: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    url, state = server
    local = evaluate(
        str(tiny_model_dir), load_suite("taiyi_style"), str(demo_hub), tmp_path / "hf", limit=3, show_progress=False,
        resamples=0, protocol="loglik",
    )  # fmt: skip
    served = remote(url, demo_hub, tmp_path / "openai", protocol="loglik", tokenizer=str(tiny_model_dir), limit=3)

    def lines(folder: Path) -> dict[str, dict[str, Any]]:
        rows = [json.loads(line) for line in (folder / "loglik.jsonl").read_text(encoding="utf-8").splitlines()]
        return {row["id"]: row for row in rows}

    hf, remote_rows = lines(tmp_path / "hf"), lines(tmp_path / "openai")
    assert hf and set(hf) == set(remote_rows) and len(state.bodies) == len(hf)  # one request per question
    for key, row in hf.items():
        assert remote_rows[key]["logliks"] == pytest.approx(row["logliks"], abs=1e-3), key
        assert (remote_rows[key]["pred"], remote_rows[key]["pred_norm"]) == (row["pred"], row["pred_norm"]), key
    def values(document: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(e["name"], e["value"], e["n"]) for e in document["entries"]]

    assert values(served) == values(local)
    assert served["backend"] == "openai" and served["protocol"] == "loglik"
    assert served["served_model"] == SERVED
    state.echo = False  # a hosted chat API: no prompt log-probabilities
    with pytest.raises(EvalError, match="did not return prompt log-probabilities"):
        remote(url, demo_hub, tmp_path / "refused", protocol="loglik", tokenizer=str(tiny_model_dir), limit=1)
    before = len(state.bodies)
    with pytest.raises(EvalError, match="did not return prompt log-probabilities"):  # refused before generating
        remote(url, demo_hub, tmp_path / "refused-both", protocol="both", tokenizer=str(tiny_model_dir), limit=1)
    assert len(state.bodies) > before and all("messages" not in body for body in state.bodies[before:])  # no chat request
    assert not read_done(tmp_path / "refused-both" / "raw_outputs.jsonl")


@pytest.mark.slow
def test_the_default_model_behind_the_server_answers_as_hf_does(demo_hub: Path, tmp_path: Path) -> None:
    from biohub.models import load_model

    state = ServerState("smollm2")
    model, tokenizer = load_model("default")
    suite = load_suite("taiyi_style")
    suite = dataclasses.replace(suite, entries=tuple(e for e in suite.entries if e.name in ("PubMedQA", "NCBI-disease")))
    with serving(model, tokenizer, state) as url:
        served = evaluate(
            "smollm2", suite, str(demo_hub), tmp_path / "openai", limit=2, max_new_tokens_cap=CAP, show_progress=False,
            resamples=0, backend="openai", server=Server(url, concurrency=2),
        )  # fmt: skip
    local = evaluate(
        "default", suite, str(demo_hub), tmp_path / "hf", limit=2, max_new_tokens_cap=CAP, show_progress=False,
        resamples=0, batch_size=1,
    )  # fmt: skip
    answers = {key: row["output"] for key, row in read_done(tmp_path / "openai" / "raw_outputs.jsonl").items()}
    assert answers == {key: row["output"] for key, row in read_done(tmp_path / "hf" / "raw_outputs.jsonl").items()}
    assert [e["value"] for e in served["entries"]] == [e["value"] for e in local["entries"]]
    assert served["served_model"] == "smollm2"
