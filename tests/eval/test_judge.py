"""``biohub judge``: LLM judges of the generation rows, against scripted judges behind a real local HTTP server
(``tests/serving.py``; the client is the ``openai`` SDK): lenient reply parsing, grades averaged over a jury with
their Krippendorff's alpha, parse failures counted, resume without a repeated request, the pairwise mode's seeded
order and win rates, the figures in results.json and the report, the key kept out of every file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.judge import (
    JudgeError,
    generation_rows,
    judge_run,
    load_judge_spec,
    make_judges,
    parse_preferences,
    parse_scores,
    pointwise_prompt,
)  # fmt: skip
from biohub.eval.run import score_file
from biohub.eval.suite import load_suite, resolve
from tests.eval.test_run import perfect_predictions
from tests.serving import ServerState, serving

pytest.importorskip("uvicorn", reason="the test server needs uvicorn and starlette (pip install biohub[dev])")
krippendorff = pytest.importorskip("krippendorff")

SPEC = load_judge_spec()
CRITERIA = [c.name for c in SPEC.criteria]
KEY = "sk-judge-9a8b7c6d"
LIMIT = 3


def grade(answer: str, shift: int = 0) -> dict[str, int]:
    """A scripted judge's grades: fixed by the answer's text (and the judge's shift), within 1..5."""
    digest = hashlib.sha256(answer.encode("utf-8")).digest()
    return {c: min(5, max(1, 1 + digest[k] % 5 + shift)) for k, c in enumerate(CRITERIA)}


def section(prompt: str, name: str) -> str:
    """The text of a ``[name]`` section of a judge prompt (up to the next section or the instructions after it)."""
    start = prompt.index(f"[{name}]\n") + len(name) + 3
    ends = [prompt.find(marker, start) for marker in ("\n\n[", "\n\nRate the", "\n\nFor each criterion")]
    return prompt[start : min(end for end in ends if end >= 0)]


def pointwise_judge(shift: int, garbage_every: int = 0) -> Any:
    calls = {"n": 0}

    def reply(messages: list[dict[str, str]]) -> str:
        calls["n"] += 1
        if garbage_every and calls["n"] % garbage_every == 0:
            return "I would rather not grade this."
        grades = grade(section(messages[-1]["content"], "Candidate answer"), shift)
        layouts = ["{c}: {g}", "**{c}**: {g}/5", "{C}：{g}"]  # lenient reading: bold, /5, full-width colon, case
        return "\n".join(layouts[k % 3].format(c=c, C=c.capitalize(), g=g) for k, (c, g) in enumerate(grades.items()))

    return reply


@pytest.fixture(scope="module")
def scored_run(demo_hub: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run with gold answers, run with one fixed wrong answer) scored on the generation rows of the `all` suite."""
    root = tmp_path_factory.mktemp("judged")
    suite = load_suite("all")
    rows = [e for e in resolve(suite, str(demo_hub)) if e.headline.startswith("rouge")]
    text_suite = dataclasses.replace(suite, entries=tuple(e for e in suite.entries if e.name in {r.name for r in rows}))
    gold = perfect_predictions(demo_hub, "all", root / "gold.jsonl", LIMIT)
    score_file(gold, text_suite, str(demo_hub), root / "gold", limit=LIMIT, resamples=0)
    wrong = root / "wrong.jsonl"
    lines = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    wrong.write_text("".join(json.dumps({"id": o["id"], "output": "No idea."}) + "\n" for o in lines), encoding="utf-8")
    score_file(wrong, text_suite, str(demo_hub), root / "wrong", limit=LIMIT, resamples=0)
    return root / "gold", root / "wrong"


@pytest.fixture
def jury() -> Iterator[tuple[list[str], list[ServerState]]]:
    states = [ServerState("judge-a", reply=pointwise_judge(0)), ServerState("judge-b", reply=pointwise_judge(1, garbage_every=5))]
    with serving(None, None, states[0]) as first, serving(None, None, states[1]) as second:
        yield [f"openai:judge-a@{first}", f"openai:judge-b@{second}"], states


def test_replies_are_read_leniently_and_refused_when_incomplete() -> None:
    assert parse_scores(SPEC, "Coherence: 4\n**completeness**: 3/5\n- correctness： 5\nnaturalness:2") == {
        "coherence": 4, "completeness": 3, "correctness": 5, "naturalness": 2,
    }  # fmt: skip
    assert parse_scores(SPEC, "coherence: 4\ncompleteness: 3\ncorrectness: 5") is None  # a criterion missing
    assert parse_scores(SPEC, "coherence: 4\ncompleteness: 3\ncorrectness: 7\nnaturalness: 2") is None  # off the scale
    assert parse_preferences(SPEC, "coherence: A\ncompleteness: tie\ncorrectness: b\nnaturalness: **A**") == {
        "coherence": "A", "completeness": "tie", "correctness": "B", "naturalness": "A",
    }  # fmt: skip
    prompt = pointwise_prompt(SPEC, "Q?", "Ref.", "Cand.")[-1]["content"]
    assert "[Candidate answer]\nCand." in prompt and "coherence: <1-5>" in prompt and "{" not in prompt


def test_a_spec_without_a_placeholder_is_refused(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "biohub" / "eval" / "data" / "judge.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "judge.yaml"
    broken.write_text(text.replace("{answer}", "(the answer)"), encoding="utf-8")
    with pytest.raises(JudgeError, match=r"judge.yaml: the pointwise prompt lacks \{answer\}"):
        load_judge_spec(broken)
    with pytest.raises(JudgeError, match="expected openai:MODEL@"):
        make_judges(["gpt-4o"])


def test_a_jury_grades_the_generation_rows(
    scored_run: tuple[Path, Path], jury: tuple[list[str], list[ServerState]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    run = tmp_path / "gold"
    shutil.copytree(scored_run[0], run)
    specs, states = jury
    monkeypatch.setenv("BIOHUB_JUDGE_KEY", KEY)
    document = judge_run(run, make_judges(specs), resamples=200)
    rows = generation_rows(document)
    generations = [json.loads(line) for line in (run / "generations.jsonl").read_text(encoding="utf-8").splitlines()]
    asked = len(states[0].bodies)
    assert rows and asked == len(states[1].bodies) == sum(len([g for g in generations if r["name"] in g["rows"]]) for r in rows)
    replies = [json.loads(line) for line in (run / "judgments.jsonl").read_text(encoding="utf-8").splitlines()]
    failed = {r["id"] for r in replies if r["judge"].startswith("judge-b") and "rather not" in r["reply"]}
    assert len(replies) == 2 * asked and failed  # judge b fails every fifth request
    for row in rows:
        figures = row["judge"]
        examples = [g for g in generations if row["name"] in g["rows"]]
        expected = []
        for example in examples:  # the mean of the judges that answered, per criterion
            graded = [grade(example["output"])] + ([] if example["id"] in failed else [grade(example["output"], 1)])
            expected.append([np.mean([g[c] for g in graded]) for c in CRITERIA])
        means = np.mean(expected, axis=0)
        assert [figures["scores"][c] for c in CRITERIA] == pytest.approx(list(means)), row["name"]
        assert figures["overall"] == pytest.approx(means.mean()) and figures["n"] == len(examples)
        assert figures["parse_failures"]["judge-a@" + specs[0].split("@", 1)[1]] == 0
        low, high = figures["interval"] if figures["interval"] else (figures["overall"], figures["overall"])
        assert low <= figures["overall"] <= high
        assert figures["agreement_measure"] == "Krippendorff's alpha (ordinal)"
    assert sum(sum(r["judge"]["parse_failures"].values()) for r in rows) == len(failed)
    judging = document["judging"]
    assert judging["version"] == SPEC.version and judging["criteria"] == CRITERIA and len(judging["judges"]) == 2
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "## LLM judge" in report and f"| {rows[0]['name']} | gold | grade | rougeL | 100.0 |" in report
    again = judge_run(run, make_judges(specs), resamples=200)  # everything answered already: nothing sent
    assert len(states[0].bodies) == asked and again["entries"] == document["entries"]
    assert set(states[0].authorizations) == {f"Bearer {KEY}"}
    assert not [p for p in run.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]


def test_alpha_is_krippendorffs() -> None:
    from biohub.eval.judge import _alpha

    matrix = np.array([[1, 2, 3, 4, 5, 3], [1, 2, 4, 4, 5, np.nan]], dtype=float)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5])
    assert _alpha(matrix, "ordinal", [1, 2, 3, 4, 5]) == pytest.approx(expected)
    assert _alpha(matrix[:1], "ordinal", [1, 2, 3, 4, 5]) is None  # one judge: no agreement to measure


def test_pairwise_order_is_seeded_random_and_win_rates_follow_the_better_answer(
    scored_run: tuple[Path, Path], tmp_path: Path
) -> None:
    import shutil

    gold, wrong = tmp_path / "gold", scored_run[1]
    shutil.copytree(scored_run[0], gold)

    def prefer_an_answer(messages: list[dict[str, str]]) -> str:  # any answer beats "No idea."
        first = section(messages[-1]["content"], "Answer A")
        return "\n".join(f"{c}: {'B' if first == 'No idea.' else 'A'}" for c in CRITERIA)

    state = ServerState("judge-p", reply=prefer_an_answer)
    with serving(None, None, state) as url:
        document = judge_run(gold, make_judges([f"openai:judge-p@{url}"]), against=wrong, seed=3, resamples=0)
    replies = [json.loads(line) for line in (gold / "judgments.vs-wrong.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["this_run"] for r in replies} == {"A", "B"}  # both orders shown
    for row in generation_rows(document):
        figures = row["judge_pairwise"]
        assert figures["scores"] == dict.fromkeys(CRITERIA, 1.0) and figures["agreement"] == dict.fromkeys(CRITERIA)
    assert document["judging_pairwise"]["against"] == str(wrong)
    assert "gold vs wrong | win rate" in (gold / "report.md").read_text(encoding="utf-8")
    namesake = tmp_path / "elsewhere" / "wrong"  # another baseline of the same folder name: its replies share the log
    shutil.copytree(scored_run[0], namesake)
    with serving(None, None, state) as url:  # (a judge is named with its URL: a new port is a new judge)
        judge_run(gold, make_judges([f"openai:judge-p@{url}"]), against=wrong, seed=3, resamples=0)
        judge_run(gold, make_judges([f"openai:judge-p@{url}"]), against=namesake, seed=3, resamples=0)
        sent = len(state.bodies)
        again = judge_run(gold, make_judges([f"openai:judge-p@{url}"]), against=wrong, seed=3, resamples=0)
    assert len(state.bodies) == sent  # every request of the first judging is answered in the log already
    for row in generation_rows(again):  # ... and its figures are its own replies', not the namesake's
        assert row["judge_pairwise"]["scores"] == dict.fromkeys(CRITERIA, 1.0)


def test_judge_command(scored_run: tuple[Path, Path], jury: tuple[list[str], list[ServerState]], tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "gold"
    shutil.copytree(scored_run[0], run)
    specs, _ = jury
    result = CliRunner().invoke(app, ["judge", str(run), "--judge", specs[0], "--limit", "1", "--resamples", "0"])
    assert result.exit_code == 0, result.output
    assert "overall" in result.output and (run / "judgments.jsonl").is_file()
    bad = CliRunner().invoke(app, ["judge", str(run), "--judge", "gpt-4o"])
    assert bad.exit_code == 2 and "expected openai:MODEL@" in bad.output
    nothing = CliRunner().invoke(app, ["judge", str(tmp_path / "none"), "--judge", specs[0]])
    assert nothing.exit_code == 2 and "no results.json" in nothing.output
