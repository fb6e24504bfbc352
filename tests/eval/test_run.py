"""The evaluation pipeline on the demo hub (built from the example corpora): perfect predictions score 1.0 on every
row of both suites, noisy and missing outputs are counted, generation is batched and resumable, reports compare runs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.generate import Request, generate, read_done
from biohub.eval.report import write_report
from biohub.eval.run import score_file, select
from biohub.eval.score import ACCURACY_LIKE
from biohub.eval.suite import SuiteError, computes, hub_eval_splits, load_suite, resolve
from biohub.io import InputError
from biohub.templates.registry import METRIC_VARIANTS


def perfect_predictions(hub: Path, suite: str, path: Path, limit: int | None = None) -> Path:
    rows = select(str(hub), resolve(load_suite(suite), str(hub)), limit, 0)
    lines = {
        r["id"]: json.dumps({"id": r["id"], "output": r["messages"][-1]["content"]}, ensure_ascii=False)
        for rs in rows.values()
        for r in rs
    }
    path.write_text("\n".join(lines.values()) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suite", ["taiyi_style", "all"])
def test_perfect_predictions_score_one_everywhere(demo_hub: Path, tmp_path: Path, suite: str) -> None:
    predictions = perfect_predictions(demo_hub, suite, tmp_path / "perfect.jsonl")
    document = score_file(predictions, load_suite(suite), str(demo_hub), tmp_path / "out")
    assert document["entries"], "the suite selected nothing"
    partial: list[str] = []  # rows whose interval reaches below 1.0 though every answer is right
    with_variants = 0
    for entry in document["entries"]:
        assert entry["parse_failures"] == 0 and entry["strict_parse_failures"] == 0, entry["name"]
        assert entry["value"] == pytest.approx(1.0), (entry["name"], entry["metrics"])
        assert entry["resamples"] == 1000 and entry["interval"][1] == pytest.approx(1.0), entry["name"]
        if entry["interval"][0] != pytest.approx(1.0):
            partial.append(entry["name"])
        assert entry["strict_value"] == pytest.approx(1.0), entry["name"]  # every renderer's output parses strictly
        assert entry["value_parsed_only"] == (pytest.approx(1.0) if entry["headline"] in ACCURACY_LIKE else None), entry["name"]
        variants = [entry["metrics"][f"f1_{name}"] for name in METRIC_VARIANTS if f"f1_{name}" in entry["metrics"]]
        assert variants == pytest.approx([1.0] * len(variants)), entry["name"]  # gold answers: 1.0 under every variant
        with_variants += len(variants) == len(METRIC_VARIANTS)
        unlisted = [name for name in entry["metrics"] if not any(computes(task, name) for task in entry["tasks"])]
        assert not unlisted, (entry["name"], unlisted)  # eval.metrics of the family file names everything the scorer computes
    assert with_variants >= 6  # every NER and RE row (taiyi_style: 4 NER, 2 RE)
    # Perfect answers give [1.0, 1.0] but where the headline is undefined (0 by definition) on some resample of a
    # tiny demo row: Pearson's r when a resample's gold scores are all equal, F1 of the positive class (f1_positive)
    # when a resample has no positive example, and JNLPBA's mention F1 (one of its three examples has no entity).
    undefined = {e["name"] for e in document["entries"] if e["headline"] in ("pearson", "f1_positive")}
    assert set(partial) == (undefined | {"jnlpba/test"} if suite == "all" else set())
    if suite == "taiyi_style":
        assert [e["name"] for e in document["entries"]] == [e.name for e in load_suite(suite).entries]
    averages = document["averages"]
    assert averages["overall"]["value"] == pytest.approx(1.0) and averages["overall"]["rows"] == len(document["entries"])
    assert averages["overall"]["interval"][1] == pytest.approx(1.0)
    for group, average in averages["groups"].items():  # a family without such a row: [1.0, 1.0]
        if not any(e["group"] == group and e["name"] in partial for e in document["entries"]):
            assert average["interval"] == [pytest.approx(1.0)] * 2, group
    for name in ("results.json", "generations.jsonl", "samples.jsonl", "report.md", "report.html", "report.png"):
        assert (tmp_path / "out" / name).is_file()
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(s["name"], len(s["ids"])) for s in samples] == [(e["name"], e["n"]) for e in document["entries"]]
    assert {s["strategy"] for s in samples} <= {"counts", "mean", "recompute"}


def test_bilingual_suite_scores_perfect_predictions_one_with_both_languages(demo_hub: Path, tmp_path: Path) -> None:
    """The `bilingual` suite on the demo build: every row whose eval split the example corpora have (all but BIOSSES
    and MeQSum, whose examples hold no test split) scores exactly 1.0; the report groups the rows by task family with
    each family's average; every family group but TS and COREF (Chinese or English only, named in the suite file) has an
    English and a Chinese row."""
    suite = load_suite("bilingual")
    present = hub_eval_splits(str(demo_hub))
    entries = tuple(e for e in suite.entries if e.split in present.get(e.dataset, []))
    assert sorted(e.name for e in suite.entries if e not in entries) == ["BIOSSES (en)", "MeQSum summarisation (en)"]
    rows = select(str(demo_hub), list(entries), 5, 0)  # five examples per row keep the test fast
    predictions = tmp_path / "perfect.jsonl"
    outputs = {r["id"]: r["messages"][-1]["content"] for rs in rows.values() for r in rs}
    predictions.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in outputs.items()), encoding="utf-8")
    document = score_file(predictions, dataclasses.replace(suite, entries=entries), str(demo_hub), tmp_path / "out", limit=5)
    assert [e["name"] for e in document["entries"]] == [e.name for e in entries]
    for entry in document["entries"]:
        assert entry["parse_failures"] == 0 and entry["value"] == pytest.approx(1.0), (entry["name"], entry["metrics"])
    languages: dict[str, set[str]] = {}
    for row in suite.entries:  # every row's name ends with its prompt language, "(en)" or "(zh)"
        languages.setdefault(row.group, set()).add(row.name[-3:-1])
    one_language = {group: sorted(found) for group, found in languages.items() if found != {"en", "zh"}}
    assert one_language == {"COREF": ["en"], "TS": ["zh"]}
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "Average of out per task family: NER 100.0 [100.0, 100.0] (2 rows)" in report
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Average of out per task family: NER 100.0 [100.0, 100.0] (2 rows)" in html


def test_noisy_wrong_and_missing_outputs_are_scored_and_counted(demo_hub: Path, tmp_path: Path) -> None:
    rows = select(str(demo_hub), resolve(load_suite("taiyi_style"), str(demo_hub)), None, 0)
    medqa = rows["MedQA-USMLE"]
    gold_letter = json.loads(medqa[0]["gold"])["value"][0]
    wrong_letter = next(letter for letter in "ABCD" if letter != gold_letter)
    outputs = [
        {"id": medqa[0]["id"], "output": f"The answer is ({gold_letter})."},  # lenient parse of a chatty answer
        {
            "id": medqa[1]["id"],
            "output": f"Answer: {wrong_letter}" if json.loads(medqa[1]["gold"])["value"] != [wrong_letter] else "Answer: E",
        },
        {"id": medqa[2]["id"], "output": "I am not sure."},  # unparseable = wrong, counted
    ]  # the rest of the rows have no output: missing = unparsed = wrong
    path = tmp_path / "predictions.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in outputs) + "\n", encoding="utf-8")
    document = score_file(path, load_suite("taiyi_style"), str(demo_hub), tmp_path / "out")
    entry = next(e for e in document["entries"] if e["name"] == "MedQA-USMLE")
    n = entry["n"]
    assert entry["value"] == pytest.approx(1 / n) and entry["missing"] == n - 3 and 1 <= entry["parse_failures"] <= 2
    generations = [json.loads(line) for line in (tmp_path / "out" / "generations.jsonl").read_text().splitlines()]
    first = next(g for g in generations if g["id"] == medqa[0]["id"])
    assert first["parse_ok"] and first["parsed"] == [gold_letter] and first["gold"]["value"] == [gold_letter]
    assert first["prompt"][-1]["role"] == "user"
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"id": "nope", "output": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="unknown.jsonl:1: id 'nope' is not an example of suite taiyi_style"):
        score_file(unknown, load_suite("taiyi_style"), str(demo_hub), tmp_path / "x")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="broken.jsonl:1"):
        score_file(broken, load_suite("taiyi_style"), str(demo_hub), tmp_path / "x")


def test_a_rows_interval_does_not_depend_on_the_other_rows(demo_hub: Path, tmp_path: Path) -> None:
    """Every third example answered wrongly: the rows have intervals of some width, the same for a row whatever the
    suite's other rows and their order; --resamples 0 writes none (and removes an earlier samples.jsonl)."""
    full = load_suite("taiyi_style")
    suite = dataclasses.replace(full, entries=full.entries[:7])  # seven rows keep the test fast
    rows = select(str(demo_hub), list(suite.entries), None, 0)
    outputs = {
        r["id"]: "no idea" if k % 3 == 0 else r["messages"][-1]["content"] for rs in rows.values() for k, r in enumerate(rs)
    }
    others = dataclasses.replace(suite, entries=tuple(reversed(full.entries))[3:7])  # four of them, reversed, and no other
    kept = {r["id"] for entry in others.entries for r in rows[entry.name]}
    predictions, fewer = tmp_path / "p.jsonl", tmp_path / "fewer.jsonl"
    for path, ids in ((predictions, outputs.keys()), (fewer, kept)):
        path.write_text("".join(json.dumps({"id": k, "output": outputs[k]}) + "\n" for k in sorted(ids)), encoding="utf-8")
    forward = score_file(predictions, suite, str(demo_hub), tmp_path / "f", resamples=100, seed=5)
    backward = score_file(fewer, others, str(demo_hub), tmp_path / "b", resamples=100, seed=5)
    intervals = {e["name"]: e["interval"] for e in forward["entries"]}
    assert [e["interval"] for e in backward["entries"]] == [intervals[e["name"]] for e in backward["entries"]]
    assert any(low < high for low, high in intervals.values()) and forward["resamples"] == 100
    none = score_file(fewer, others, str(demo_hub), tmp_path / "f", resamples=0)
    assert all(e["interval"] is None and e["resamples"] == 0 for e in none["entries"])
    assert none["averages"]["overall"]["interval"] is None and not (tmp_path / "f" / "samples.jsonl").exists()


def test_suites_validate() -> None:
    suite = load_suite("taiyi_style")
    assert {e.group for e in suite.entries} == {"NER", "RE", "TC", "QA"} and len(suite.entries) == 10
    assert load_suite("all").auto
    with pytest.raises(SuiteError, match="no suite 'nope'"):
        load_suite("nope")


def test_batched_generation_equals_one_by_one_and_resumes(demo_hub: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    from biohub.models import load_model

    model, tokenizer = load_model(str(tiny_model_dir))
    rows = select(str(demo_hub), resolve(load_suite("taiyi_style"), str(demo_hub)), 2, 0)
    requests = list({r["id"]: Request(r["id"], r["messages"][:-1], 12) for rs in rows.values() for r in rs}.values())
    single, batched = tmp_path / "single.jsonl", tmp_path / "batched.jsonl"
    generate(model, tokenizer, requests, single, batch_size=1, show_progress=False)
    timing = generate(model, tokenizer, requests[:5], batched, batch_size=4, show_progress=False)
    assert timing["generated"] == 5
    with batched.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "torn')  # a crash in the middle of a line
    timing = generate(model, tokenizer, requests, batched, batch_size=4, show_progress=False)
    assert (timing["reused"], timing["generated"]) == (5, len(requests) - 5)
    a, b = read_done(single), read_done(batched)
    assert a.keys() == b.keys() == {r.id for r in requests}
    assert all(a[key]["output"] == b[key]["output"] for key in a)
    assert all(row["new_tokens"] <= 12 for row in b.values())


def test_eval_command_and_report(demo_hub: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    runner = CliRunner()
    base = tmp_path / "base"
    result = runner.invoke(
        app,
        [
            "eval", "--model", str(tiny_model_dir), "--suite", "taiyi_style", "--data", str(demo_hub), "--out",
            str(base), "--limit", "2", "--batch-size", "8",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((base / "results.json").read_text())
    assert document["model"] == str(tiny_model_dir) and document["limit"] == 2 and document["versions"]["torch"]
    assert all(e["n"] <= 2 for e in document["entries"]) and len(document["entries"]) == 10
    assert len((base / "generations.jsonl").read_text().splitlines()) == len(read_done(base / "raw_outputs.jsonl"))
    other = runner.invoke(
        app,
        [
            "eval", "--model", str(tiny_model_dir), "--suite", "taiyi_style", "--data", str(demo_hub), "--out",
            str(base), "--limit", "2", "--max-new-tokens", "4",
        ],
    )
    assert other.exit_code == 2 and "other settings" in " ".join(other.output.split())
    perfect = tmp_path / "perfect"
    result = runner.invoke(
        app,
        [
            "score",
            "--predictions",
            str(perfect_predictions(demo_hub, "taiyi_style", tmp_path / "p.jsonl", 2)),
            "--data",
            str(demo_hub),
            "--out",
            str(perfect),
            "--suite",
            "taiyi_style",
            "--limit",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    report = tmp_path / "report"
    published = tmp_path / "published.csv"  # reference columns come only from a CSV given with --reference
    published.write_text("dataset,taiyi1_qwen7b,chatgpt35\nBC5CDR-Chem,80.2,60.3\n", encoding="utf-8")
    result = runner.invoke(app, ["report", str(base), str(perfect), "--out", str(report), "--title", "base vs perfect",
                                 "--reference", str(published)])
    assert result.exit_code == 0, result.output
    text = (report / "report.md").read_text()
    assert "| NER | BC5CDR-Chem | f1_mention |" in text and "Δ perfect" in text and "Taiyi (Qwen-7B)" in text
    assert "80.2" in text  # the given (Taiyi's published) BC5CDR-Chem figure in the reference column
    assert (report / "report.png").read_bytes()[:4] == b"\x89PNG" and "<table>" in (report / "report.html").read_text()
    missing = runner.invoke(app, ["report", str(tmp_path / "nothing"), "--out", str(report)])
    assert missing.exit_code == 2


def test_write_report_needs_results(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no results.json"):
        write_report([tmp_path], tmp_path / "r")
