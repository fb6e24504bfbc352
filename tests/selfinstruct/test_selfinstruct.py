"""Self-instruct: the similarity filter equals brute force, parsing, filters and categories, the resumable loop with
its ledger, the OpenAI-compatible generator (retries, budget, concurrency, key hygiene), the shipped seeds, the CLI."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import types
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.api import convert_files
from biohub.hub.build import build
from biohub.hub.recipe import load_recipe
from biohub.io import read_hub_split
from biohub.selfinstruct.generators import BudgetExhausted, GeneratorError, LocalGenerator, OpenAIGenerator, make_generator
from biohub.selfinstruct.pipeline import Options, selfinstruct
from biohub.selfinstruct.similarity import SimilarityIndex, rouge_l, tokens
from biohub.selfinstruct.tasks import (
    DATA,
    SeedError,
    Task,
    build_prompt,
    categorize,
    check,
    length_of,
    load_seeds,
    parse_generation,
)

KEY = "sk-test-secret-0123456789"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_similarity_index_decides_exactly_as_brute_force(language: str) -> None:
    rng = random.Random(7)
    if language == "en":
        vocabulary = ["patient", "drug", "dose", "the", "of", "renal", "hepatic", "risk", "list", "explain"] + [
            f"term{i}" for i in range(200)
        ]
        joiner, most = " ", 25
    else:
        vocabulary = ["患者", "药物", "剂量", "肾功能", "肝功能", "风险", "列出", "解释", "的", "和"] + [
            f"词{i}" for i in range(100)
        ]
        joiner, most = "", 20

    def make() -> str:
        return joiner.join(rng.choice(vocabulary) for _ in range(rng.randint(3, most)))

    pool = [tokens(make(), language) for _ in range(400)]
    index = SimilarityIndex(0.7)
    for words in pool:
        index.add(words)
    candidates = [tokens(make(), language) for _ in range(150)] + [words[:-1] for words in pool[:40] if len(words) > 3]
    for words in candidates:
        brute = max(rouge_l(words, other) for other in pool)
        similar, score, _ = index.too_similar(words)
        assert similar == (brute >= 0.7)
        if similar:
            assert score == pytest.approx(brute)


def test_rouge_l_is_rouge_scores() -> None:
    from rouge_score import rouge_scorer

    a, b = "List the adverse effects of warfarin therapy", "List adverse effects of heparin therapy"
    expected = rouge_scorer.RougeScorer(["rougeL"]).score(a, b)["rougeL"].fmeasure
    assert rouge_l(tokens(a, "en"), tokens(b, "en")) == pytest.approx(expected)
    assert 0 < rouge_l(tokens("请列出华法林的不良反应", "zh"), tokens("请列出肝素的不良反应", "zh")) < 1


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (["a", "b", "c"], ["a", "c"], 2 * 2 / 5),  # F = 2·LCS / (m + n)
        (["the", "cat", "sat", "on", "the", "mat"], ["the", "cat", "on", "a", "mat"], 8 / 11),
        (["华法林", "的", "不良反应"], ["肝素", "的", "不良反应"], 2 * 2 / 6),
        (["a b", "c"], ["a", "b", "c"], 2 * 1 / 5),  # a token is never split again
        ([], ["a"], 0.0),
        (["x"], ["y"], 0.0),
        (["x", "y"], ["y", "x"], 2 * 1 / 4),
    ],
)
def test_rouge_l_known_values(a: list[str], b: list[str], expected: float) -> None:
    assert rouge_l(a, b) == pytest.approx(expected) and rouge_l(b, a) == pytest.approx(expected)


def test_parse_generation() -> None:
    task = parse_generation(
        " Summarize the note.\nInput: <noinput>\nOutput: A short summary.\n\nTask 5\nInstruction: another", "en"
    )
    assert task is not None and (task.instruction, task.input, task.output) == ("Summarize the note.", "", "A short summary.")
    zh = parse_generation("根据病历列出诊断。\n输入：患者男，60岁，胸痛2小时。\n输出：疑似急性冠脉综合征。", "zh")
    assert zh is not None and zh.input.startswith("患者") and zh.output == "疑似急性冠脉综合征。"
    again = parse_generation("Task 4\nInstruction: Define anemia.\nInput: <noinput>\nOutput: Low hemoglobin.", "en")
    assert again is not None and again.instruction == "Define anemia."
    assert parse_generation("I cannot help with that.", "en") is None
    assert parse_generation("Do X.\nInput: y\nOutput:   ", "en") is None


def test_filters_and_categories() -> None:
    index = SimilarityIndex(0.7)
    index.add(tokens("List the adverse effects of warfarin therapy in elderly patients", "en"))
    cases = {
        "length": Task("Go.", "", "ok", "en"),
        "keyword": Task("Describe the image of the chest X-ray below", "", "A normal film.", "en"),
        "output_equals_input": Task(
            "Repeat the following sentence exactly", "Aspirin inhibits COX.", "Aspirin inhibits COX.", "en"
        ),
        "similar": Task("List the adverse effects of warfarin therapy in elderly patient", "", "Bleeding.", "en"),
        None: Task("Explain why metformin is avoided in severe renal failure", "", "Lactic acidosis risk.", "en"),
    }
    for reason, task in cases.items():
        assert check(task, index)[0] == reason
    assert check(Task("请根据下面的图片描述病灶", "", "无法", "zh"), index)[0] == "keyword"
    assert length_of("请 列出 诊断", "zh") == 5 and length_of("List the diagnoses", "en") == 3
    assert categorize(Task("Extract all drug names from the note", "", "", "en")) == "ie"
    assert categorize(Task("Write a discharge summary for this patient", "", "", "en")) == "generation"
    assert categorize(Task("What is the first-line treatment of gout?", "", "", "en")) == "qa"
    assert categorize(Task("Classify the sentence as positive or negative", "", "", "en")) == "other"
    assert categorize(Task("从病历中抽取所有药物名称", "", "", "zh")) == "ie"
    assert categorize(Task("高血压患者为什么要限盐？", "", "", "zh")) == "qa"


def test_shipped_seeds_are_bilingual_cover_every_category_and_pass_the_filters() -> None:
    seeds = load_seeds(DATA / "seeds.jsonl")
    for language in ("en", "zh"):
        own = [s for s in seeds if s.language == language]
        assert len(own) >= 20 and {s.category for s in own} == {"qa", "ie", "generation", "other"}
    index = SimilarityIndex(0.7)
    for seed in seeds:
        assert check(seed, index)[0] is None, seed.instruction
        index.add(tokens(seed.instruction, seed.language))


def test_bad_seed_files_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_text('{"instruction": "a b c", "output": "d"}\n{"instruction": 3}\n', encoding="utf-8")
    with pytest.raises(SeedError, match="seeds.jsonl:2: needs string fields"):
        load_seeds(path)


class Scripted:
    """A generator answering from a script (one text per request, in order); can fail after ``fail_after`` requests."""

    name = "scripted"

    def __init__(self, texts: Sequence[str], fail_after: int | None = None) -> None:
        self.texts, self.fail_after, self.calls, self.prompts = list(texts), fail_after, 0, []

    def complete(self, prompts: Sequence[str]) -> list[str]:
        out = []
        for prompt in prompts:
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise RuntimeError("crash")
            self.prompts.append(prompt)
            out.append(self.texts[self.calls % len(self.texts)])
            self.calls += 1
        return out


SCRIPT = [
    " Explain how beta blockers lower blood pressure.\nInput: <noinput>\nOutput: They reduce heart rate and renin release.",
    "解释为什么糖尿病患者需要定期检查眼底。\n输入：<无输入>\n输出：糖尿病可引起视网膜病变，早期发现可及时治疗。",
    " Explain how beta blockers lower blood pressure!\nInput: <noinput>\nOutput: Duplicate.",  # similar
    "根据下面的图片判断骨折类型。\n输入：<无输入>\n输出：无法判断。",  # keyword
    " nonsense without fields",  # malformed
    "从以下病历中抽取所有检验指标及其数值。\n输入：血红蛋白 98 g/L，白细胞 12×10^9/L。\n"
    "输出：血红蛋白：98 g/L；白细胞：12×10^9/L。",
    " Extract every drug and dose from the prescription.\nInput: Amoxicillin 500 mg three times daily.\n"
    "Output: Amoxicillin: 500 mg TID.",
    "写一段给高血压患者的低盐饮食建议。\n输入：<无输入>\n输出：每日食盐不超过5克，少吃腌制食品。",
    " What is the antidote for heparin overdose?\nInput: <noinput>\nOutput: Protamine sulfate.",
    "一句话\n输入：同一句话\n输出：同一句话",  # output equals input
    " Go.\nInput: <noinput>\nOutput: Went.",  # length: a one-word instruction
]


def test_the_loop_filters_counts_and_resumes_exactly(tmp_path: Path) -> None:
    seeds = load_seeds(DATA / "seeds.jsonl")
    options = Options(target=6, seed=3, k=3, batch=4)
    straight = selfinstruct(seeds, Scripted(SCRIPT), tmp_path / "straight", options, show_progress=False)
    assert straight["accepted"] == 6 and straight["requests"] == 12
    # requests 0-11 alternate en/zh and cycle through SCRIPT: 2 similar to 0, 3 keyword, 4 malformed, 9 output = input,
    # 10 length, 11 = SCRIPT[0] again but asked in Chinese (no 输入/输出 fields: malformed); accepted: 0, 1, 5, 6, 7, 8
    assert straight["rejected"] == {
        "malformed": 2, "length": 1, "keyword": 1, "output_equals_input": 1, "similar": 1, "over_target": 0,
    }
    assert straight["rejected_examples"]["keyword"][0]["instruction"].startswith("根据下面的图片")
    tasks = json.loads((tmp_path / "straight" / "instructions.json").read_text())
    assert {t["category"] for t in tasks} <= {"qa", "ie", "generation", "other"} and len({t["instruction"] for t in tasks}) == 6
    assert (tmp_path / "straight" / "categories.png").is_file() and "BioInstruct" in (
        tmp_path / "straight" / "README.md"
    ).read_text()

    crashed = Scripted(SCRIPT, fail_after=5)
    with pytest.raises(RuntimeError):
        selfinstruct(seeds, crashed, tmp_path / "resumed", options, show_progress=False)
    rest = Scripted(SCRIPT[4:] + SCRIPT[:4])  # the script continues where the crashed run stopped (after 4 requests)
    resumed = selfinstruct(seeds, rest, tmp_path / "resumed", options, resume=True, show_progress=False)
    assert (tmp_path / "resumed" / "instructions.json").read_bytes() == (tmp_path / "straight" / "instructions.json").read_bytes()
    assert resumed["rejected"] == straight["rejected"]
    with pytest.raises(FileExistsError):
        selfinstruct(seeds, Scripted(SCRIPT), tmp_path / "straight", options, show_progress=False)

    result = convert_files(
        "alpaca", [tmp_path / "straight" / "instructions.json"], "generated", "en", tmp_path / "converted",
        split="train", progress=False,
    )
    assert sum(len(records) for records in result.records.values()) == 6 and not result.problems
    run = tmp_path / "straight"
    info = build(load_recipe(run / "recipe.yaml"), run, tmp_path / "hub", catalog=run / "catalog", progress=False, workers=1)
    assert info["configs"]["selfinstruct_instructions"] == {"train": 6} and info["configs"]["mix_stage2"]["train"] == 6
    assert len(read_hub_split(str(tmp_path / "hub"), "mix_stage2", "train")) == 6


def test_prompts_show_k_examples_and_open_the_next_task() -> None:
    seeds = load_seeds(DATA / "seeds.jsonl")
    prompt = build_prompt(seeds[:3], "en")
    assert prompt.count("Instruction:") == 4 and prompt.rstrip().endswith("Task 4\nInstruction:")


# --- the OpenAI-compatible generator against a local server ------------------------------------------------------
class Endpoint:
    def __init__(self) -> None:
        self.script: list[int] = []  # status codes to answer before succeeding
        self.retry_after: str | None = None  # the Retry-After header of those answers
        self.active = self.peak = self.calls = 0
        self.headers: list[str] = []
        self.lock = threading.Lock()


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Endpoint]]:
    state = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.calls += 1
                state.active += 1
                state.peak = max(state.peak, state.active)
                state.headers.append(self.headers.get("Authorization", ""))
                status = state.script.pop(0) if state.script else 200
            time.sleep(0.05)
            with state.lock:
                state.active -= 1
            if status != 200:
                self.send_response(status)
                if state.retry_after is not None:
                    self.send_header("Retry-After", state.retry_after)
                self.end_headers()
                return
            answer = {"choices": [{"message": {"content": f"echo: {body['messages'][0]['content'][-20:]}"}}]}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    server.shutdown()


def test_openai_generator_retries_limits_and_never_shows_the_key(
    endpoint, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url, state = endpoint
    monkeypatch.setenv("BIOHUB_GENERATOR_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    generator = OpenAIGenerator("test-model", url, concurrency=2, retries=3, backoff=0.01)
    state.script = [429, 503]
    texts = generator.complete([f"prompt {i}" for i in range(6)])
    assert [t.startswith("echo: ") for t in texts] == [True] * 6 and texts[3].endswith("prompt 3")
    assert state.calls == 8 and state.peak <= 2 and set(state.headers) == {f"Bearer {KEY}"}
    state.script = [400]
    with pytest.raises(GeneratorError, match="HTTP 400 \\(not retried\\)") as failure:
        generator.complete(["x"])
    assert KEY not in str(failure.value)
    state.script = [500] * 10
    with pytest.raises(GeneratorError, match="failed after 4 attempts") as failure:
        generator.complete(["x"])
    assert KEY not in str(failure.value) and KEY not in caplog.text
    state.script = []
    budgeted = make_generator(f"openai:test-model@{url}", budget=3)
    assert budgeted.complete(["a", "b", "c"])
    with pytest.raises(BudgetExhausted):
        budgeted.complete(["d"])
    with pytest.raises(GeneratorError, match="expected local:default"):
        make_generator("gpt-4")


def test_openai_generator_backs_off_exponentially_with_jitter(endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    url, state = endpoint
    slept: list[float] = []
    monkeypatch.setattr("biohub.chat_client.time", types.SimpleNamespace(sleep=slept.append))  # not the server's
    monkeypatch.setattr("biohub.chat_client.random.random", lambda: 0.0)  # the smallest jitter: half the delay
    state.script = [503] * 10
    with pytest.raises(GeneratorError, match=r"failed after 4 attempts \(last: HTTP 503\)"):
        OpenAIGenerator("m", url, concurrency=1, retries=3, backoff=1.0).complete(["x"])
    assert slept == [0.5, 1.0, 2.0] and state.calls == 4  # no sleep after the last attempt
    slept.clear()
    state.script = [429, 429, 429]
    assert OpenAIGenerator("m", url, concurrency=1, retries=3, backoff=40.0).complete(["y"])[0].endswith("y")
    assert slept == [20.0, 30.0, 30.0]  # doubled, capped at 60 s before the jitter
    slept.clear()
    state.script = [500] * 10
    with pytest.raises(BudgetExhausted):  # the budget counts retries and is never retried itself
        OpenAIGenerator("m", url, concurrency=1, retries=5, backoff=1.0, budget=2).complete(["z"])
    assert slept == [0.5, 1.0]  # two requests, two sleeps, then the third request finds the budget spent
    slept.clear()
    state.script, state.retry_after = [429, 503, 429], "7"  # the server's wait when longer than the backoff
    assert OpenAIGenerator("m", url, concurrency=1, retries=3, backoff=1.0).complete(["w"])[0].endswith("w")
    assert slept == [7.0, 7.0, 7.0]
    slept.clear()
    state.script, state.retry_after = [429, 429], "3600"  # ... up to five minutes
    assert OpenAIGenerator("m", url, concurrency=1, retries=3, backoff=1.0).complete(["v"])[0].endswith("v")
    assert slept == [300.0, 300.0]


def test_selfinstruct_command_with_an_http_generator(endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = endpoint
    monkeypatch.setenv("BIOHUB_GENERATOR_KEY", KEY)
    result = CliRunner().invoke(
        app,
        [
            "selfinstruct", "--generator", f"openai:m@{url}", "--target", "5", "--out", str(tmp_path / "out"),
            "--max-requests", "6", "--batch", "3", "--allow-empty",  # every generation is malformed
        ],
    )
    assert result.exit_code == 0, result.output
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text())
    assert ledger["requests"] == 6 and ledger["accepted"] == 0 and ledger["rejected"]["malformed"] == 6  # echoes are not tasks
    assert KEY not in result.output


@pytest.mark.slow
def test_a_short_real_run_with_the_tiny_local_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    texts = LocalGenerator(str(tiny_model_dir), max_new_tokens=5, batch_size=2).complete(
        ["Write a task.", "写一个任务。", "Another"]
    )
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    generator = LocalGenerator(str(tiny_model_dir), max_new_tokens=24, batch_size=2)
    ledger = selfinstruct(
        load_seeds(DATA / "seeds.jsonl"), generator, tmp_path / "run",
        Options(target=2, batch=2, max_requests=4, allow_empty=True), show_progress=False,
    )
    assert ledger["requests"] == 4 and ledger["accepted"] + sum(ledger["rejected"].values()) == 4
    assert len(json.loads((tmp_path / "run" / "instructions.json").read_text())) == ledger["accepted"]
